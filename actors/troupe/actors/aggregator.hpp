#pragma once

#include <cstdint>
#include <optional>

#include <caf/actor_system.hpp>

#include "troupe/actors/actors.hpp"
#include "troupe/actors/tap.hpp"

namespace troupe::actors {

/// Spawns the aggregator: waits for every rank's `contribution` to step s,
/// sums gradients and metric sums in rank order whatever the arrival order,
/// answers every stepper's request with the `reduced_gradient` (one replica:
/// the stepper's own buffer, no copy) and sends a `step_summary` to
/// `coordinator`. Evaluations (`eval_contribution`) reduce the same way into
/// an `eval_summary`. A stale, duplicate or out-of-range contribution is
/// reported to `coordinator` as an `actor_failure`.
///
/// With `clip_grad_norm` set, the reduced gradient's global L2 norm (over
/// every parameter, computed in double) is logged as `train/grad_norm`, and
/// when it exceeds the bound the gradient is scaled by
/// clip_grad_norm / (norm + 1e-6), as torch::nn::utils::clip_grad_norm_
/// does, before any stepper sees it. Buffers that came with the
/// contributions are averaged in rank order (sum, then / replicas).
aggregator_actor spawn_aggregator(caf::actor_system& sys, int32_t replicas,
                                  summary_sink_actor coordinator,
                                  inbound_tap tap = {},
                                  std::optional<double> clip_grad_norm = {},
                                  int64_t first_step = 1);

} // namespace troupe::actors
