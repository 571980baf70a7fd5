#pragma once

// Strict text-to-number conversion, the one used for the command line,
// config.json, metric files and traces read back: the whole text must be the
// number (no blanks, no trailing characters, no sign on unsigned values) and
// it must fit the type. Each returns "" on success, else what is wrong.

#include <cstdint>
#include <string>

namespace troupe::core {

std::string parse_int64(const std::string& text, int64_t& out);

std::string parse_uint64(const std::string& text, uint64_t& out);

/// Decimal numbers in C syntax, and "inf", "-inf", "nan" (callers decide
/// whether those are valid); no hexadecimal.
std::string parse_double(const std::string& text, double& out);

} // namespace troupe::core
