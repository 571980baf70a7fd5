#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::core {

/// Quotes and escapes `x` as a JSON string.
std::string json_quote(const std::string& x);

/// Shortest round-trip text of `x`; `null` for NaN and infinities (JSON has
/// no literal for them).
std::string json_number(double x);

/// Builds one flat JSON object, keys in insertion order.
class json_object {
public:
  json_object& add(const std::string& key, const std::string& value);
  json_object& add(const std::string& key, const char* value);
  json_object& add(const std::string& key, double value);
  json_object& add(const std::string& key, int64_t value);
  json_object& add(const std::string& key, uint64_t value);
  json_object& add(const std::string& key, bool value);
  /// Adds already formatted JSON (an array or object).
  json_object& add_raw(const std::string& key, const std::string& json);

  std::string str() const;

private:
  void key(const std::string& k);
  std::string body_;
};

/// One member of a parsed JSON object: strings unescaped (`is_string`),
/// anything else (number, true, false, null, array, object) as its raw text.
struct json_field {
  std::string key;
  std::string value;
  bool is_string = false;
};

/// Parses one JSON object into its members, in order. Nested arrays and
/// objects are kept as raw text. Throws std::runtime_error naming the byte
/// offset of the first syntax error.
std::vector<json_field> parse_json_object(const std::string& text);

/// Parses a JSON array of strings. Throws std::runtime_error naming the byte
/// offset of the first syntax error.
std::vector<std::string> parse_json_strings(const std::string& text);

/// The member `key` of `fields`, or nullptr.
const json_field* find_field(const std::vector<json_field>& fields,
                             const std::string& key);

} // namespace troupe::core
