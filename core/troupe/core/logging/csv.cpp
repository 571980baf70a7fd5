#include "troupe/core/logging/csv.hpp"

#include <stdexcept>

namespace troupe::core {

std::string csv_field(const std::string& x) {
  if (x.find_first_of(",\"\r\n") == std::string::npos)
    return x;
  std::string out = "\"";
  for (char c : x) {
    if (c == '"')
      out += '"';
    out += c;
  }
  return out + '"';
}

bool read_csv_record(std::istream& in, std::vector<std::string>& fields) {
  fields.clear();
  std::string line;
  if (!std::getline(in, line))
    return false;
  std::string field;
  bool quoted = false;     // inside a quoted field
  bool was_quoted = false; // the current field was quoted (and closed)
  for (;;) {
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (quoted) {
        if (c != '"') {
          field += c;
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
          was_quoted = true;
        }
      } else if (c == ',') {
        fields.push_back(std::move(field));
        field.clear();
        was_quoted = false;
      } else if (c == '"' && field.empty() && !was_quoted) {
        quoted = true;
      } else if (c == '\r' && i + 1 == line.size()) {
        // CRLF line end
      } else if (was_quoted) {
        throw std::runtime_error("text after a closing quote");
      } else {
        field += c;
      }
    }
    if (!quoted)
      break;
    // The quoted field goes on in the next line.
    if (!std::getline(in, line))
      throw std::runtime_error("a quoted field is not closed");
    field += '\n';
  }
  fields.push_back(std::move(field));
  return true;
}

} // namespace troupe::core
