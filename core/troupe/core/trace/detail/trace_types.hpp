#pragma once

// Internals of the trace format that the trace writer and the replay
// harness share; not part of the public API.

#include <caf/message.hpp>

namespace troupe::core::detail {

/// The type name of a message whose tensors `--trace-tensors=digest` stores
/// as digests (contribution, reduced_gradient, step_batch), or nullptr: the
/// writer shortens exactly these, and a replay refuses them from a digest
/// trace.
const char* digested_message_type(const caf::message& x);

} // namespace troupe::core::detail
