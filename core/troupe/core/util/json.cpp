#include "troupe/core/util/json.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "troupe/core/util/utf8.hpp"

namespace troupe::core {

std::string json_quote(const std::string& x) {
  std::string out;
  out.reserve(x.size() + 2);
  out += '"';
  for (size_t i = 0; i < x.size();) {
    auto c = static_cast<unsigned char>(x[i]);
    if (c >= 0x80) {
      // Valid UTF-8 goes through as it is; a byte that is not part of a
      // well-formed sequence becomes U+FFFD, so the file stays valid JSON.
      auto n = utf8_sequence(x, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(x, i, n);
        i += n;
      }
      continue;
    }
    ++i;
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
        if (c < 0x20 || c == 0x7f)
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
      return finish(out);
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
      return finish(out);
    }
  }

  std::vector<std::string> strings() {
    std::vector<std::string> out;
    ws();
    expect('[');
    ws();
    if (peek() == ']') {
      ++i_;
      return finish(out);
    }
    for (;;) {
      ws();
      out.push_back(string());
      ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect(']');
      return finish(out);
    }
  }

private:
  template <class T>
  T& finish(T& out) {
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

  /// Four hex digits after a backslash-u.
  unsigned hex4() {
    if (i_ + 4 > s_.size())
      fail("short \\u escape");
    unsigned code = 0;
    for (int k = 0; k < 4; ++k) {
      char h = s_[i_];
      unsigned d = 0;
      if (h >= '0' && h <= '9')
        d = static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f')
        d = static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        d = static_cast<unsigned>(h - 'A' + 10);
      else
        fail("bad hex digit in \\u escape");
      code = code * 16 + d;
      ++i_;
    }
    return code;
  }

  static void put_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      auto c = static_cast<unsigned char>(peek());
      if (c < 0x20)
        fail("control character in a string");
      if (c >= 0x80) {
        auto n = utf8_sequence(s_, i_);
        if (n == 0)
          fail("invalid UTF-8 in a string");
        out.append(s_, i_, n);
        i_ += n;
        continue;
      }
      ++i_;
      if (c == '"')
        return out;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      char e = peek();
      ++i_;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
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
          auto code = hex4();
          if (code >= 0xDC00 && code <= 0xDFFF)
            fail("lone low surrogate in \\u escape");
          if (code >= 0xD800 && code <= 0xDBFF) {
            if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u')
              fail("lone high surrogate in \\u escape");
            i_ += 2;
            auto low = hex4();
            if (low < 0xDC00 || low > 0xDFFF)
              fail("high surrogate without a low one in \\u escape");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          }
          put_utf8(out, code);
          break;
        }
        default:
          --i_;
          fail(fmt::format("invalid escape '\\{}'", e));
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
    while (!out.empty()
           && (out.back() == ' ' || out.back() == '\n' || out.back() == '\r'
               || out.back() == '\t'))
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

std::vector<std::string> parse_json_strings(const std::string& text) {
  return json_parser{text}.strings();
}

const json_field* find_field(const std::vector<json_field>& fields,
                             const std::string& key) {
  for (const auto& f : fields)
    if (f.key == key)
      return &f;
  return nullptr;
}

} // namespace troupe::core
