#pragma once

// The one reader of troupe's metrics.csv rows (the CSV sink widening its
// header, the report reading a run back).

#include <string>
#include <vector>

namespace troupe::core {

/// The comma-separated fields of one line, as the CSV sink writes them (no
/// quoting; a trailing empty field is dropped).
std::vector<std::string> csv_fields(const std::string& line);

} // namespace troupe::core
