#pragma once

// TensorBoard's event files, written without protobuf or TensorFlow: the
// TFRecord framing and the few protobuf messages a scalar and a text summary
// need, encoded by hand from the public field numbers of event.proto,
// summary.proto, tensor.proto and tensor_shape.proto. A dependency on
// libprotobuf and a generated schema would buy nothing for five messages.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace troupe::core {

/// TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t masked_crc32c(const void* data, size_t size);

/// One TFRecord: little-endian uint64 length, masked CRC of the length, the
/// data, masked CRC of the data.
std::string frame_record(const std::string& data);

/// An Event{wall_time, file_version}: the first record of every file.
std::string
encode_file_version_event(double wall_time,
                          const std::string& version = "brain.Event:2");

/// An Event{wall_time, step, Summary{Value{tag, simple_value}...}}.
std::string
encode_scalars_event(double wall_time, int64_t step,
                     const std::vector<std::pair<std::string, float>>& values);

/// An Event with one text summary (the "text" plugin, a DT_STRING tensor),
/// which TensorBoard shows under its Text tab (rendered as markdown).
std::string encode_text_event(double wall_time, int64_t step,
                              const std::string& tag, const std::string& text);

} // namespace troupe::core
