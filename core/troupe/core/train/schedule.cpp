#include "troupe/core/train/schedule.hpp"

#include <algorithm>
#include <string>

#include "troupe/core/util/errors.hpp"

namespace troupe::core {

schedule schedule::make(const trainer_options& opts, int64_t train_size) {
  schedule s;
  s.replicas = opts.replicas;
  s.accumulate = opts.accumulate;
  s.batch_size = opts.batch_size;
  s.global_batch = opts.replicas * opts.accumulate * opts.batch_size;
  s.train_size = train_size;
  s.steps_per_epoch = train_size / s.global_batch;
  s.dropped_per_epoch = train_size % s.global_batch;
  if (s.steps_per_epoch == 0)
    throw config_error("batch-size",
                       "replicas x accumulate x batch-size = "
                         + std::to_string(s.global_batch)
                         + " exceeds the training set ("
                         + std::to_string(train_size) + " samples)");
  s.max_epochs = opts.max_epochs;
  s.total_steps = s.steps_per_epoch * opts.max_epochs;
  if (opts.max_steps >= 0)
    s.total_steps = std::min(s.total_steps, opts.max_steps);
  s.val_every = opts.val_every_n_steps;
  s.log_every = opts.log_every_n_steps;
  return s;
}

int64_t schedule::epoch_of(int64_t step) const {
  return (step - 1) / steps_per_epoch;
}

int64_t schedule::step_in_epoch(int64_t step) const {
  return (step - 1) % steps_per_epoch + 1;
}

bool schedule::is_epoch_end(int64_t step) const {
  return step % steps_per_epoch == 0 || step == total_steps;
}

bool schedule::is_validation_step(int64_t step) const {
  if (val_every > 0)
    return step % val_every == 0;
  return is_epoch_end(step);
}

bool schedule::is_log_step(int64_t step) const {
  return step % log_every == 0;
}

int64_t schedule::first_sample(int64_t step, int64_t rank,
                               int64_t micro) const {
  return (step_in_epoch(step) - 1) * global_batch
    + (rank * accumulate + micro) * batch_size;
}

} // namespace troupe::core
