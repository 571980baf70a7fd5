#pragma once

#include <caf/actor_system.hpp>

#include "troupe/actors/actors.hpp"
#include "troupe/actors/coordinator.hpp"

namespace troupe::actors {

/// Spawns the pipeline of a training fit configured by `cfg`: the
/// aggregator, one stepper per replica (with `cfg.replicas` and `cfg.data`)
/// and the loader, every one reporting to `coordinator`.
pipeline_handles spawn_pipeline(caf::actor_system& sys,
                                const coordinator_config& cfg,
                                coordinator_actor coordinator);

} // namespace troupe::actors
