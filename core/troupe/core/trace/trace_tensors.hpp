#pragma once

// How traces record gradient tensors: an option of the trainer
// (--trace-tensors) and a field of the trace header. A header of its own, so
// that the options need not include the trace format (and CAF).

#include <optional>
#include <string>

namespace troupe::core {

/// How tensors of gradients are recorded.
enum class trace_tensors { full, digest };

/// "full" or "digest".
inline const char* to_string(trace_tensors x) {
  return x == trace_tensors::digest ? "digest" : "full";
}

/// The value `to_string` names `word`; none for any other word.
inline std::optional<trace_tensors>
parse_trace_tensors(const std::string& word) {
  if (word == "full")
    return trace_tensors::full;
  if (word == "digest")
    return trace_tensors::digest;
  return std::nullopt;
}

} // namespace troupe::core
