#include "troupe/core/train/metric_names.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "troupe/core/util/utf8.hpp"

namespace troupe::core {

const std::vector<std::string>& reserved_summary_keys() {
  static const std::vector<std::string> keys{"status",      "error",
                                             "sink_errors", "outputs_lost",
                                             "global_step", "epochs",
                                             "samples",     "wall_seconds"};
  return keys;
}

std::string metric_name_problem(const std::string& name) {
  if (name.empty())
    return "a metric name must not be empty";
  if (name.size() > 256)
    return fmt::format("metric name '{}...' is {} bytes long (at most 256)",
                       name.substr(0, 32), name.size());
  if (auto at = first_invalid_utf8(name); at != std::string::npos)
    return fmt::format("metric name is not valid UTF-8 (byte {} of {})", at,
                       name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f)
      return fmt::format("metric name '{}' holds a control character "
                         "(0x{:02x} at byte {})",
                         name.substr(0, i), c, i);
  }
  const auto& reserved = reserved_summary_keys();
  if (std::find(reserved.begin(), reserved.end(), name) != reserved.end())
    return fmt::format("'{}' is a key of summary.json, not a metric name",
                       name);
  return {};
}

} // namespace troupe::core
