#pragma once

// A reader for TensorBoard event files, written for the tests independently
// of troupe's writer: its own bitwise CRC-32C, its own protobuf decoding.
// Every record's two CRCs are checked; a bad one throws naming the record
// index and its byte offset.

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace troupe::test {

inline uint32_t bitwise_crc32c(const unsigned char* p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k)
      crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline uint32_t masked(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

struct tf_value {
  std::string tag;
  bool has_simple_value = false;
  float simple_value = 0;
  std::string plugin_name;
  std::vector<std::string> strings;
};

struct tf_event {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;
  std::vector<tf_value> values;
};

namespace detail {

struct pb_reader {
  const std::string& s;
  size_t i = 0;

  bool done() const {
    return i >= s.size();
  }

  uint64_t varint() {
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i >= s.size())
        throw std::runtime_error("protobuf: truncated varint");
      auto b = static_cast<unsigned char>(s[i++]);
      x |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0)
        return x;
    }
    throw std::runtime_error("protobuf: varint too long");
  }

  std::string bytes() {
    auto n = varint();
    if (i + n > s.size())
      throw std::runtime_error("protobuf: truncated field");
    auto out = s.substr(i, n);
    i += n;
    return out;
  }

  template <class T>
  T fixed() {
    if (i + sizeof(T) > s.size())
      throw std::runtime_error("protobuf: truncated fixed field");
    T x;
    std::memcpy(&x, s.data() + i, sizeof(T));
    i += sizeof(T);
    return x;
  }

  void skip(int wire) {
    switch (wire) {
      case 0:
        varint();
        break;
      case 1:
        fixed<uint64_t>();
        break;
      case 2:
        bytes();
        break;
      case 5:
        fixed<uint32_t>();
        break;
      default:
        throw std::runtime_error("protobuf: bad wire type");
    }
  }
};

inline std::string plugin_of(const std::string& metadata) {
  pb_reader r{metadata};
  while (!r.done()) {
    auto k = r.varint();
    if (k >> 3 == 1 && (k & 7) == 2) { // plugin_data
      auto pd = r.bytes();
      pb_reader p{pd};
      while (!p.done()) {
        auto pk = p.varint();
        if (pk >> 3 == 1 && (pk & 7) == 2)
          return p.bytes();
        p.skip(static_cast<int>(pk & 7));
      }
    } else {
      r.skip(static_cast<int>(k & 7));
    }
  }
  return {};
}

inline std::vector<std::string> strings_of(const std::string& tensor) {
  std::vector<std::string> out;
  pb_reader r{tensor};
  while (!r.done()) {
    auto k = r.varint();
    if (k >> 3 == 8 && (k & 7) == 2)
      out.push_back(r.bytes());
    else
      r.skip(static_cast<int>(k & 7));
  }
  return out;
}

inline tf_value value_of(const std::string& v) {
  tf_value out;
  pb_reader r{v};
  while (!r.done()) {
    auto k = r.varint();
    auto field = k >> 3;
    auto wire = static_cast<int>(k & 7);
    if (field == 1 && wire == 2) {
      out.tag = r.bytes();
    } else if (field == 2 && wire == 5) {
      out.has_simple_value = true;
      out.simple_value = r.fixed<float>();
    } else if (field == 9 && wire == 2) {
      out.plugin_name = plugin_of(r.bytes());
    } else if (field == 8 && wire == 2) {
      out.strings = strings_of(r.bytes());
    } else {
      r.skip(wire);
    }
  }
  return out;
}

} // namespace detail

inline tf_event decode_event(const std::string& data) {
  tf_event e;
  detail::pb_reader r{data};
  while (!r.done()) {
    auto k = r.varint();
    auto field = k >> 3;
    auto wire = static_cast<int>(k & 7);
    if (field == 1 && wire == 1) {
      e.wall_time = r.fixed<double>();
    } else if (field == 2 && wire == 0) {
      e.step = static_cast<int64_t>(r.varint());
    } else if (field == 3 && wire == 2) {
      e.file_version = r.bytes();
    } else if (field == 5 && wire == 2) {
      auto summary = r.bytes();
      detail::pb_reader sr{summary};
      while (!sr.done()) {
        auto sk = sr.varint();
        if (sk >> 3 == 1 && (sk & 7) == 2)
          e.values.push_back(detail::value_of(sr.bytes()));
        else
          sr.skip(static_cast<int>(sk & 7));
      }
    } else {
      r.skip(wire);
    }
  }
  return e;
}

/// The records of an event file; throws std::runtime_error naming the
/// record index and byte offset of a truncated record or a CRC mismatch.
inline std::vector<std::string> read_tf_records(const std::string& bytes) {
  std::vector<std::string> out;
  size_t off = 0;
  auto u = [&](size_t at) {
    return reinterpret_cast<const unsigned char*>(bytes.data() + at);
  };
  auto le32 = [&](size_t at) {
    uint32_t x = 0;
    for (int i = 3; i >= 0; --i)
      x = (x << 8) | u(at)[i];
    return x;
  };
  for (size_t index = 0; off < bytes.size(); ++index) {
    auto where = "record " + std::to_string(index) + " at byte "
      + std::to_string(off);
    if (off + 12 > bytes.size())
      throw std::runtime_error(where + ": truncated header");
    uint64_t len = 0;
    for (int i = 7; i >= 0; --i)
      len = (len << 8) | u(off)[i];
    if (masked(bitwise_crc32c(u(off), 8)) != le32(off + 8))
      throw std::runtime_error(where + ": length CRC mismatch");
    if (off + 12 + len + 4 > bytes.size())
      throw std::runtime_error(where + ": truncated data");
    if (masked(bitwise_crc32c(u(off + 12), len)) != le32(off + 12 + len))
      throw std::runtime_error(where + ": data CRC mismatch");
    out.push_back(bytes.substr(off + 12, len));
    off += 12 + len + 4;
  }
  return out;
}

/// The event file in `dir` (its name contains "tfevents"), or "".
inline std::string events_file(const std::string& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().find("tfevents") != std::string::npos)
      return e.path().string();
  return {};
}

inline std::vector<tf_event> read_tf_events(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<tf_event> out;
  for (const auto& r : read_tf_records(ss.str()))
    out.push_back(decode_event(r));
  return out;
}

} // namespace troupe::test
