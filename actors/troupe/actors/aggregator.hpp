#pragma once

#include <cstdint>

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
aggregator_actor spawn_aggregator(caf::actor_system& sys, int32_t replicas,
                                  summary_sink_actor coordinator,
                                  inbound_tap tap = {});

} // namespace troupe::actors
