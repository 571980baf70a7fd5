#pragma once

#include <cstdint>

#include <caf/meta/type_name.hpp>

#include "troupe/core/config/options.hpp"

namespace troupe::core {

/// The step clock, a pure function of the options and the training set size.
/// Steps count optimizer updates from 1; epochs count from 0.
struct schedule {
  int64_t replicas = 1;
  int64_t accumulate = 1;
  int64_t batch_size = 1;
  int64_t global_batch = 1; ///< G = replicas * accumulate * batch_size
  int64_t train_size = 0;
  int64_t steps_per_epoch = 0;
  int64_t dropped_per_epoch = 0; ///< remainder that does not fill G
  int64_t max_epochs = 0;
  int64_t total_steps = 0; ///< limited by max_steps
  int64_t val_every = 0;   ///< 0 = at epoch ends
  int64_t log_every = 1;

  /// Throws config_error when not even one step fits an epoch.
  static schedule make(const trainer_options& opts, int64_t train_size);

  /// 0-based epoch of update `step`.
  int64_t epoch_of(int64_t step) const;

  /// 1-based index of `step` within its epoch.
  int64_t step_in_epoch(int64_t step) const;

  /// The last step of an epoch, or the last step of training.
  bool is_epoch_end(int64_t step) const;

  bool is_validation_step(int64_t step) const;

  bool is_log_step(int64_t step) const;

  /// Offset, in the epoch's sample order, of the first sample of micro-batch
  /// `micro` of replica `rank` in update `step`. Step k of an epoch covers
  /// [(k-1)G, kG); within it, rank r takes the r-th contiguous slice.
  int64_t first_sample(int64_t step, int64_t rank, int64_t micro) const;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, schedule& x) {
  return f(caf::meta::type_name("schedule"), x.replicas, x.accumulate,
           x.batch_size, x.global_batch, x.train_size, x.steps_per_epoch,
           x.dropped_per_epoch, x.max_epochs, x.total_steps, x.val_every,
           x.log_every);
}

} // namespace troupe::core
