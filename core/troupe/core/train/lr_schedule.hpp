#pragma once

// Learning rates on the optimizer-step axis. A schedule is a pure function
// of the update's index s (1-based, the step of the step clock), so a
// resumed or replayed fit applies the same rates. For a fit of T updates,
// peak rate lr and W warmup updates:
//
//   s <= W:   lr * s / W                                  (linear warmup)
//   constant: lr
//   cosine:   min_lr + (lr - min_lr) * (1 + cos(pi * (s - W) / (T - W))) / 2
//   linear:   lr + (min_lr - lr) * (s - W) / (T - W)
//   step:     lr * gamma^floor((s - W - 1) / step_size)
//
// so cosine and linear reach min_lr at s = T, and step keeps lr for the
// step_size updates after warmup, then lr * gamma for the next step_size,
// and so on. The rate of update s is logged as `lr` at step s.

#include <cstdint>
#include <functional>
#include <string>

#include "troupe/core/config/options.hpp"

namespace troupe::core {

/// The learning rate of update `step` (1-based). Called by every replica's
/// stepper, on its own thread: it must be a pure function of the step.
using lr_schedule = std::function<double(int64_t step)>;

/// The parameters of the built-in schedules.
struct lr_schedule_spec {
  std::string kind = "constant"; ///< constant, cosine, linear or step
  double lr = 0;
  int64_t warmup_steps = 0;
  double min_lr = 0;
  int64_t step_size = 1;
  double gamma = 1;
  int64_t total_steps = 1; ///< T
};

/// The rate of update `step` under `spec` (the formulas above).
double scheduled_lr(const lr_schedule_spec& spec, int64_t step);

/// The spec the options give for a fit of `total_steps` updates (the
/// peak is the effective --lr).
lr_schedule_spec lr_schedule_of(const trainer_options& opts,
                                int64_t total_steps);

/// The options' schedule; empty when it is constant without warmup, so
/// the optimizer's own rate applies unchanged.
lr_schedule make_lr_schedule(const trainer_options& opts, int64_t total_steps);

} // namespace troupe::core
