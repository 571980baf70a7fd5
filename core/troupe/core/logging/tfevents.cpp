#include "troupe/core/logging/tfevents.hpp"

#include "troupe/core/util/crc32c.hpp"

#include <array>
#include <cstring>

namespace troupe::core {

namespace {

// -- protobuf wire format -----------------------------------------------------
// Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.

void varint(std::string& out, uint64_t x) {
  while (x >= 0x80) {
    out += static_cast<char>((x & 0x7f) | 0x80);
    x >>= 7;
  }
  out += static_cast<char>(x);
}

void key(std::string& out, int field, int wire_type) {
  varint(out, (static_cast<uint64_t>(field) << 3) | wire_type);
}

void fixed(std::string& out, const void* p, size_t n) {
  // Protobuf fixed-width fields are little-endian, as is this machine.
  out.append(static_cast<const char*>(p), n);
}

void bytes_field(std::string& out, int field, const std::string& bytes) {
  key(out, field, 2);
  varint(out, bytes.size());
  out += bytes;
}

void double_field(std::string& out, int field, double x) {
  key(out, field, 1);
  fixed(out, &x, sizeof(x));
}

void float_field(std::string& out, int field, float x) {
  key(out, field, 5);
  fixed(out, &x, sizeof(x));
}

void varint_field(std::string& out, int field, uint64_t x) {
  key(out, field, 0);
  varint(out, x);
}

// Field numbers (tensorflow/core/util/event.proto and friends).
constexpr int event_wall_time = 1;      // double
constexpr int event_step = 2;           // int64
constexpr int event_file_version = 3;   // string
constexpr int event_summary = 5;        // Summary
constexpr int summary_value = 1;        // repeated Summary.Value
constexpr int value_tag = 1;            // string
constexpr int value_simple_value = 2;   // float
constexpr int value_tensor = 8;         // TensorProto
constexpr int value_metadata = 9;       // SummaryMetadata
constexpr int metadata_plugin_data = 1; // SummaryMetadata.PluginData
constexpr int plugin_name = 1;          // string
constexpr int tensor_dtype = 1;         // DataType enum
constexpr int tensor_shape = 2;         // TensorShapeProto
constexpr int tensor_string_val = 8;    // repeated bytes
constexpr int shape_dim = 2;            // repeated TensorShapeProto.Dim
constexpr int dim_size = 1;             // int64
constexpr int dt_string = 7;

std::string event_head(double wall_time, int64_t step) {
  std::string e;
  double_field(e, event_wall_time, wall_time);
  varint_field(e, event_step, static_cast<uint64_t>(step));
  return e;
}

} // namespace

uint32_t masked_crc32c(const void* data, size_t size) {
  auto crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string frame_record(const std::string& data) {
  std::string out;
  out.reserve(data.size() + 16);
  uint64_t len = data.size();
  char len_bytes[8];
  for (int i = 0; i < 8; ++i)
    len_bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  out.append(len_bytes, 8);
  auto len_crc = masked_crc32c(len_bytes, 8);
  auto data_crc = masked_crc32c(data.data(), data.size());
  char crc_bytes[4];
  for (int i = 0; i < 4; ++i)
    crc_bytes[i] = static_cast<char>((len_crc >> (8 * i)) & 0xff);
  out.append(crc_bytes, 4);
  out += data;
  for (int i = 0; i < 4; ++i)
    crc_bytes[i] = static_cast<char>((data_crc >> (8 * i)) & 0xff);
  out.append(crc_bytes, 4);
  return out;
}

std::string encode_file_version_event(double wall_time,
                                      const std::string& version) {
  std::string e;
  double_field(e, event_wall_time, wall_time);
  bytes_field(e, event_file_version, version);
  return e;
}

std::string
encode_scalars_event(double wall_time, int64_t step,
                     const std::vector<std::pair<std::string, float>>& values) {
  std::string summary;
  for (const auto& [tag, x] : values) {
    std::string v;
    bytes_field(v, value_tag, tag);
    float_field(v, value_simple_value, x);
    bytes_field(summary, summary_value, v);
  }
  auto e = event_head(wall_time, step);
  bytes_field(e, event_summary, summary);
  return e;
}

std::string encode_text_event(double wall_time, int64_t step,
                              const std::string& tag, const std::string& text) {
  std::string plugin;
  bytes_field(plugin, plugin_name, "text");
  std::string metadata;
  bytes_field(metadata, metadata_plugin_data, plugin);
  std::string dim;
  varint_field(dim, dim_size, 1);
  std::string shape;
  bytes_field(shape, shape_dim, dim);
  std::string tensor;
  varint_field(tensor, tensor_dtype, dt_string);
  bytes_field(tensor, tensor_shape, shape);
  bytes_field(tensor, tensor_string_val, text);
  std::string v;
  bytes_field(v, value_tag, tag);
  bytes_field(v, value_metadata, metadata);
  bytes_field(v, value_tensor, tensor);
  std::string summary;
  bytes_field(summary, summary_value, v);
  auto e = event_head(wall_time, step);
  bytes_field(e, event_summary, summary);
  return e;
}

} // namespace troupe::core
