#pragma once

#include <caf/actor_system.hpp>

#include "troupe/actors/actors.hpp"
#include "troupe/actors/tap.hpp"
#include "troupe/core/train/callback.hpp"

namespace troupe::actors {

/// Spawns the actor that hosts one callback: each event message is answered
/// with the callback's `callback_effects`. An exception becomes effects with
/// `error` naming the callback, the event and the step.
callback_actor spawn_callback_host(caf::actor_system& sys,
                                   core::callback_ptr cb, inbound_tap tap = {});

} // namespace troupe::actors
