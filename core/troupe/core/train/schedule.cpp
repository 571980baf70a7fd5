#include "troupe/core/train/schedule.hpp"

#include <algorithm>
#include <string>

#include "troupe/core/util/errors.hpp"

namespace troupe::core {

namespace {

/// a * b, or a config_error naming `flag` when it does not fit int64.
int64_t checked_product(int64_t a, int64_t b, const char* flag,
                        const std::string& what) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out))
    throw config_error(flag, what + " exceeds 2^63 - 1");
  return out;
}

} // namespace

schedule schedule::make(const trainer_options& opts, int64_t train_size) {
  if (train_size < 0)
    throw config_error("batch-size",
                       "the training set has a negative size ("
                         + std::to_string(train_size) + ")");
  schedule s;
  s.replicas = opts.replicas;
  s.accumulate = opts.accumulate;
  s.batch_size = opts.batch_size;
  s.global_batch = checked_product(
    checked_product(opts.replicas, opts.accumulate, "accumulate",
                    "replicas x accumulate"),
    opts.batch_size, "batch-size", "replicas x accumulate x batch-size");
  if (s.global_batch < 1)
    throw config_error("batch-size",
                       "replicas x accumulate x batch-size = "
                         + std::to_string(s.global_batch) + " is not positive");
  s.train_size = train_size;
  s.steps_per_epoch = train_size / s.global_batch;
  s.dropped_per_epoch = train_size % s.global_batch;
  if (s.steps_per_epoch == 0)
    throw config_error("batch-size",
                       "replicas x accumulate x batch-size = "
                         + std::to_string(s.global_batch)
                         + " exceeds the training set ("
                         + std::to_string(train_size) + " samples)");
  if (opts.max_epochs < 1)
    throw config_error("max-epochs",
                       "must be at least 1, got "
                         + std::to_string(opts.max_epochs));
  s.max_epochs = opts.max_epochs;
  // Every sample count of the fit stays below train_size x max_epochs.
  checked_product(train_size, opts.max_epochs, "max-epochs",
                  "training samples x max-epochs");
  s.total_steps = s.steps_per_epoch * opts.max_epochs;
  if (opts.max_steps >= 0)
    s.total_steps = std::min(s.total_steps, opts.max_steps);
  if (s.total_steps < 1)
    throw config_error("max-steps", "no optimizer step to run");
  // Warmup ends before the last update (cosine and linear divide by T - W).
  if (opts.warmup_steps >= s.total_steps)
    throw config_error(
      "warmup-steps",
      "must be less than the fit's " + std::to_string(s.total_steps)
        + " optimizer steps, got " + std::to_string(opts.warmup_steps));
  s.val_every = opts.val_every_n_steps;
  s.log_every = opts.log_every_n_steps;
  if (s.log_every < 1)
    throw config_error("log-every-n-steps", "must be at least 1");
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
