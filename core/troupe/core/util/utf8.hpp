#pragma once

// UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing
// past U+10FFFF. Names (metrics, callbacks, runs) are checked with it before
// they reach a file format that requires valid text.

#include <cstddef>
#include <string>

namespace troupe::core {

/// Length of the well-formed UTF-8 sequence starting at `s[i]`, 0 when the
/// bytes there are not one (or `i` is past the end).
size_t utf8_sequence(const std::string& s, size_t i) noexcept;

/// Byte offset of the first malformed sequence, or std::string::npos.
size_t first_invalid_utf8(const std::string& s) noexcept;

} // namespace troupe::core
