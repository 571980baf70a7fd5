#include "troupe/core/json.hpp"

#include <cmath>

#include <fmt/format.h>

namespace troupe::core {

std::string json_quote(const std::string& x) {
  std::string out;
  out.reserve(x.size() + 2);
  out += '"';
  for (unsigned char c : x) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string json_number(double x) {
  if (!std::isfinite(x))
    return "null";
  return fmt::format("{}", x);
}

void json_object::key(const std::string& k) {
  if (!body_.empty())
    body_ += ", ";
  body_ += json_quote(k);
  body_ += ": ";
}

json_object& json_object::add(const std::string& k, const std::string& v) {
  key(k);
  body_ += json_quote(v);
  return *this;
}

json_object& json_object::add(const std::string& k, const char* v) {
  return add(k, std::string{v});
}

json_object& json_object::add(const std::string& k, double v) {
  key(k);
  body_ += json_number(v);
  return *this;
}

json_object& json_object::add(const std::string& k, int64_t v) {
  key(k);
  body_ += std::to_string(v);
  return *this;
}

json_object& json_object::add(const std::string& k, bool v) {
  key(k);
  body_ += v ? "true" : "false";
  return *this;
}

json_object& json_object::add_raw(const std::string& k, const std::string& v) {
  key(k);
  body_ += v;
  return *this;
}

std::string json_object::str() const {
  return "{" + body_ + "}";
}

} // namespace troupe::core
