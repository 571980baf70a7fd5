#pragma once

#include <functional>
#include <string>

#include <caf/fwd.hpp>

#include "troupe/actors/tap.hpp"

namespace troupe::actors {

/// Called with the name and handle of every actor a fit spawns
/// ("coordinator", "loader", "stepper[0]", ...). The seam where tests and
/// tracing tap the pipeline.
using spawn_hook = std::function<void(const std::string&, const caf::actor&)>;

} // namespace troupe::actors
