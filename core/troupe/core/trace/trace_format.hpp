#pragma once

// The trace file format: what one actor received, in delivery order.
//
//   file    := magic "TRPTRACE" | u32 version | u32 header_size |
//              header | u32 crc32c(header) | record*
//   header  := CAF binary serialization of trace_header
//   record  := u32 payload_size | u32 crc32c(payload) | payload
//   payload := CAF binary serialization of
//              (u8 kind, u64 sender, u64 message_id, u16 type, body)
//   body    := the value, when `type` indexes a troupe message type (the
//              header's `types`); the generic caf::message, when 0xFFFF
//
// The framing integers are little-endian; inside header and payload, CAF's
// binary serializer writes integers in network byte order. Messages are
// serialized through their `inspect()` functions, so a reader needs the same
// type-ID block. With `tensors == "digest"`, the gradients and buffers inside
// contributions and reduced gradients are stored as digests (see
// tensor_payload.hpp).
//
// Version 1 (still read) had no `tensors` in the header and no message ID.
// Version 2 (still read) had no `buffers` in contributions and reduced
// gradients and no `lines` in callback effects: records of those three
// types in version 1 and 2 traces are refused as a type this reader does
// not know.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/message.hpp>

#include "troupe/core/trace/trace_tensors.hpp"

namespace troupe::core {

constexpr uint32_t trace_version = 4;

/// How a record arrived.
enum class trace_kind : uint8_t { async = 0, request = 1, response = 2 };

/// A corrupt or truncated trace: names the record (-1 for the header) and
/// the byte offset where it starts.
class trace_error : public std::runtime_error {
public:
  trace_error(const std::string& path, int64_t record, uint64_t offset,
              const std::string& what);

  int64_t record() const noexcept {
    return record_;
  }

  uint64_t offset() const noexcept {
    return offset_;
  }

private:
  int64_t record_;
  uint64_t offset_;
};

struct trace_header {
  uint32_t version = trace_version;
  std::string actor;
  /// The message types the writer knew, by type ID order.
  std::vector<std::string> types;
  /// How gradients were recorded: "full" or "digest".
  std::string tensors = "full";
};

struct trace_entry {
  uint64_t index = 0;
  uint64_t offset = 0; ///< byte offset of the record
  uint64_t size = 0;   ///< bytes of the record, framing included
  trace_kind kind = trace_kind::async;
  uint64_t sender = 0; ///< actor ID of the sender (0: anonymous)
  /// CAF's message ID as delivered (request and response IDs pair a
  /// response with its request); 0 in version 1 traces.
  uint64_t message_id = 0;
  caf::message content;
};

/// Appends records to a new trace file. Records are buffered and reach the
/// file every `flush_every` (and at close): a system call per record would
/// cost more than the recording itself. A hard crash loses at most that
/// last interval; a failing run that ends normally loses nothing.
class trace_writer {
public:
  trace_writer(caf::actor_system& sys, std::string path, std::string actor,
               std::vector<std::string> types,
               trace_tensors tensors = trace_tensors::full,
               std::chrono::milliseconds flush_every
               = std::chrono::milliseconds{100});
  ~trace_writer();

  trace_writer(const trace_writer&) = delete;
  trace_writer& operator=(const trace_writer&) = delete;

  void append(trace_kind kind, uint64_t sender, uint64_t message_id,
              const caf::message& content);

  uint64_t records() const noexcept {
    return records_;
  }

  void close();

private:
  void write_pending();

  caf::actor_system& sys_;
  std::string path_;
  FILE* file_ = nullptr;
  std::chrono::milliseconds flush_every_;
  std::chrono::steady_clock::time_point last_flush_;
  std::vector<char> pending_;
  long whole_ = 0; ///< bytes of the file that are whole records (and header)
  trace_tensors tensors_;
  /// For each of this build's codecs, its index in the header (or -1).
  std::vector<int> header_index_of_codec_;
  uint64_t records_ = 0;
  std::vector<char> buf_;
};

/// Reads a trace file record by record; throws trace_error on the first
/// corrupt or truncated byte, never crashes on bad input.
class trace_reader {
public:
  trace_reader(caf::actor_system& sys, std::string path);

  /// Reads a trace held in memory (`name` only appears in errors).
  trace_reader(caf::actor_system& sys, std::string name, std::string bytes);

  const trace_header& header() const noexcept {
    return header_;
  }

  /// The next record, or false at the clean end of the file.
  bool next(trace_entry& out);

private:
  void read_header();

  caf::actor_system& sys_;
  std::string path_;
  std::string bytes_;
  uint64_t pos_ = 0;
  uint64_t index_ = 0;
  uint32_t version_ = 0;
  trace_header header_;
  /// For each type of the header, this reader's codec index (or -1).
  std::vector<int> codec_of_header_;
};

/// Every message type name of the troupe type-ID block, in ID order (what
/// a trace_writer's header names).
std::vector<std::string> troupe_type_names();

} // namespace troupe::core
