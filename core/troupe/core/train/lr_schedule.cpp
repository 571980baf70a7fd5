#include "troupe/core/train/lr_schedule.hpp"

#include <cmath>

namespace troupe::core {

double scheduled_lr(const lr_schedule_spec& p, int64_t s) {
  auto w = p.warmup_steps;
  if (s <= w)
    return p.lr * static_cast<double>(s) / static_cast<double>(w);
  auto done = static_cast<double>(s - w);
  auto span = static_cast<double>(p.total_steps - w);
  if (p.kind == "cosine") {
    // Past T (a schedule asked beyond its fit) the rate stays at min_lr.
    auto t = std::min(done / span, 1.0);
    return p.min_lr + (p.lr - p.min_lr) * 0.5 * (1 + std::cos(M_PI * t));
  }
  if (p.kind == "linear")
    return p.lr + (p.min_lr - p.lr) * std::min(done / span, 1.0);
  if (p.kind == "step")
    return p.lr
      * std::pow(p.gamma, static_cast<double>((s - w - 1) / p.step_size));
  return p.lr;
}

lr_schedule_spec lr_schedule_of(const trainer_options& given,
                                int64_t total_steps) {
  auto o = with_optimizer_defaults(given);
  lr_schedule_spec p;
  p.kind = o.lr_schedule;
  p.lr = o.lr.value_or(0);
  p.warmup_steps = o.warmup_steps;
  p.min_lr = o.min_lr;
  p.step_size = o.step_size;
  p.gamma = o.gamma;
  p.total_steps = total_steps;
  return p;
}

lr_schedule make_lr_schedule(const trainer_options& opts, int64_t total_steps) {
  auto p = lr_schedule_of(opts, total_steps);
  if (p.kind == "constant" && p.warmup_steps == 0)
    return {};
  return [p](int64_t step) {
    return scheduled_lr(p, step);
  };
}

} // namespace troupe::core
