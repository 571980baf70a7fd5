#include "troupe/core/util/json.hpp"

#include <cmath>
#include <stdexcept>

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

json_object& json_object::add(const std::string& k, uint64_t v) {
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

namespace {

class json_parser {
public:
  explicit json_parser(const std::string& text) : s_(text) {}

  std::vector<json_field> object() {
    std::vector<json_field> out;
    ws();
    expect('{');
    ws();
    if (peek() == '}') {
      ++i_;
      return end(out);
    }
    for (;;) {
      ws();
      json_field f;
      f.key = string();
      ws();
      expect(':');
      ws();
      if (peek() == '"') {
        f.value = string();
        f.is_string = true;
      } else {
        f.value = raw();
      }
      out.push_back(std::move(f));
      ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect('}');
      return end(out);
    }
  }

private:
  std::vector<json_field>& end(std::vector<json_field>& out) {
    ws();
    if (i_ != s_.size())
      fail("trailing characters");
    return out;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(fmt::format("JSON: {} at byte {}", what, i_));
  }

  char peek() const {
    if (i_ >= s_.size())
      fail("unexpected end");
    return s_[i_];
  }

  void expect(char c) {
    if (peek() != c)
      fail(fmt::format("expected '{}'", c));
    ++i_;
  }

  void ws() {
    while (
      i_ < s_.size()
      && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      char c = peek();
      ++i_;
      if (c == '"')
        return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      char e = peek();
      ++i_;
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u': {
          if (i_ + 4 > s_.size())
            fail("short \\u escape");
          auto code = std::stoul(s_.substr(i_, 4), nullptr, 16);
          i_ += 4;
          if (code < 0x80) {
            out += static_cast<char>(code);
          } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
          }
          break;
        }
        default:
          out += e;
      }
    }
  }

  /// A number, literal, array or object, as raw text.
  std::string raw() {
    auto start = i_;
    int depth = 0;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '"') {
        string();
        continue;
      }
      if (c == '[' || c == '{') {
        ++depth;
      } else if (c == ']' || c == '}') {
        if (depth == 0)
          break;
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
      ++i_;
    }
    if (depth != 0)
      fail("unbalanced brackets");
    auto out = s_.substr(start, i_ - start);
    while (!out.empty() && (out.back() == ' ' || out.back() == '\n'))
      out.pop_back();
    if (out.empty())
      fail("missing value");
    return out;
  }

  const std::string& s_;
  size_t i_ = 0;
};

} // namespace

std::vector<json_field> parse_json_object(const std::string& text) {
  return json_parser{text}.object();
}

const json_field* find_field(const std::vector<json_field>& fields,
                             const std::string& key) {
  for (const auto& f : fields)
    if (f.key == key)
      return &f;
  return nullptr;
}

} // namespace troupe::core
