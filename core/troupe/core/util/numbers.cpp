#include "troupe/core/util/numbers.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace troupe::core {

namespace {

/// Digits with an optional leading '-' (when `sign`), nothing else.
bool integer_text(const std::string& text, bool sign) {
  size_t i = sign && !text.empty() && text[0] == '-' ? 1 : 0;
  return i < text.size()
    && text.find_first_not_of("0123456789", i) == std::string::npos;
}

} // namespace

std::string parse_int64(const std::string& text, int64_t& out) {
  if (!integer_text(text, true))
    return fmt::format("expected an integer, got '{}'", text);
  errno = 0;
  auto x = std::strtoll(text.c_str(), nullptr, 10);
  if (errno == ERANGE)
    return fmt::format("{} does not fit a 64-bit integer", text);
  out = x;
  return {};
}

std::string parse_uint64(const std::string& text, uint64_t& out) {
  if (!integer_text(text, false))
    return fmt::format("expected a non-negative integer, got '{}'", text);
  errno = 0;
  auto x = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE)
    return fmt::format("{} does not fit an unsigned 64-bit integer", text);
  out = x;
  return {};
}

std::string parse_double(const std::string& text, double& out) {
  auto bad = fmt::format("expected a number, got '{}'", text);
  if (text.empty() || text.find_first_of(" \t\n\r\f\vxX") != std::string::npos)
    return bad;
  errno = 0;
  char* end = nullptr;
  auto x = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size())
    return bad;
  if (errno == ERANGE && std::isinf(x))
    return fmt::format("{} is out of the range of a double", text);
  out = x;
  return {};
}

} // namespace troupe::core
