#pragma once

// Giving up on a file that failed mid-write, the one way every record
// writer does it (the sinks, the trace writer).

#include <cstdio>
#include <string>

namespace troupe::core {

/// Drops what stdio still buffers for `f`, cuts the file back to `size`
/// bytes (its last whole record), appends `tail` (a whole record taken back
/// for an amend; may be empty) and closes `f`. Errors are ignored: the file
/// is being given up on, and shrinking needs no space.
void cut_back_and_close(FILE* f, long size,
                        const std::string& tail = {}) noexcept;

} // namespace troupe::core
