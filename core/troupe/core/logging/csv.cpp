#include "troupe/core/logging/csv.hpp"

#include <sstream>

namespace troupe::core {

std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string field;
  while (std::getline(ss, field, ','))
    out.push_back(field);
  return out;
}

} // namespace troupe::core
