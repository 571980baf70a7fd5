#include "troupe/core/util/utf8.hpp"

namespace troupe::core {

size_t utf8_sequence(const std::string& s, size_t i) noexcept {
  if (i >= s.size())
    return 0;
  auto byte = [&](size_t k) {
    return static_cast<unsigned char>(s[k]);
  };
  auto c = byte(i);
  if (c < 0x80)
    return 1;
  size_t n = 0;
  unsigned lo = 0x80, hi = 0xBF; // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0)
      lo = 0xA0; // no overlong
    if (c == 0xED)
      hi = 0x9F; // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0)
      lo = 0x90;
    if (c == 0xF4)
      hi = 0x8F; // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size())
    return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi)
    return 0;
  for (size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF)
      return 0;
  return n;
}

size_t first_invalid_utf8(const std::string& s) noexcept {
  for (size_t i = 0; i < s.size();) {
    auto n = utf8_sequence(s, i);
    if (n == 0)
      return i;
    i += n;
  }
  return std::string::npos;
}

} // namespace troupe::core
