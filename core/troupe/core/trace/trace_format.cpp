#include "troupe/core/trace/trace_format.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <sys/stat.h>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>
#include <caf/type_id.hpp>
#include <fmt/format.h>

#include "troupe/core/trace/detail/trace_types.hpp"
#include "troupe/core/util/crc32c.hpp"
#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/file_io.hpp"
#include "troupe/messages/type_ids.hpp"

namespace troupe::core {

namespace {

constexpr char magic[8] = {'T', 'R', 'P', 'T', 'R', 'A', 'C', 'E'};

void put_u32(std::string& out, uint32_t x) {
  for (int i = 0; i < 4; ++i)
    out += static_cast<char>((x >> (8 * i)) & 0xff);
}

uint32_t get_u32(const std::string& s, uint64_t at) {
  uint32_t x = 0;
  for (int i = 3; i >= 0; --i)
    x = (x << 8) | static_cast<unsigned char>(s[at + i]);
  return x;
}

template <size_t... Is>
std::vector<std::string> names_of(std::index_sequence<Is...>) {
  return {caf::type_name_by_id<caf::id_block::troupe::begin + Is>::value...};
}

} // namespace

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trace_header& x) {
  return f(caf::meta::type_name("trace_header"), x.version, x.actor, x.types,
           x.tensors);
}

namespace {

/// The header of version 1 traces: no `tensors`.
struct trace_header_v1 {
  uint32_t version = 1;
  std::string actor;
  std::vector<std::string> types;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trace_header_v1& x) {
  return f(caf::meta::type_name("trace_header"), x.version, x.actor, x.types);
}

// -- typed records ------------------------------------------------------------
//
// A record whose message is one value of a troupe type stores the type's
// index in the block and the value itself; anything else (atoms, CAF's
// system messages, numbers) stores the generic caf::message, which names its
// types as strings and costs a lookup per record to read back.

constexpr uint16_t generic_record = 0xFFFF;

struct codec {
  const std::type_info* type = nullptr;
  caf::error (*save)(caf::binary_serializer&, const caf::message&) = nullptr;
  caf::error (*load)(caf::binary_deserializer&, caf::message&) = nullptr;
};

template <class T>
codec make_codec() {
  if constexpr (caf::is_atom_constant<T>::value) {
    return {};
  } else {
    return {&typeid(T),
            [](caf::binary_serializer& sink, const caf::message& m) {
              return sink(const_cast<T&>(m.get_as<T>(0)));
            },
            [](caf::binary_deserializer& source, caf::message& m) {
              T x;
              if (auto err = source(x))
                return err;
              m = caf::make_message(std::move(x));
              return caf::error{};
            }};
  }
}

template <size_t... Is>
std::vector<codec> make_codecs(std::index_sequence<Is...>) {
  return {make_codec<
    typename caf::type_by_id<caf::id_block::troupe::begin + Is>::type>()...};
}

const std::vector<codec>& codecs() {
  static const auto xs
    = make_codecs(std::make_index_sequence<caf::id_block::troupe::end
                                           - caf::id_block::troupe::begin>{});
  return xs;
}

/// The codec index of `m`, or generic_record.
uint16_t codec_of(const caf::message& m) {
  if (m.size() != 1)
    return generic_record;
  const auto* t = m.type(0).second;
  if (t == nullptr)
    return generic_record;
  const auto& cs = codecs();
  for (size_t i = 0; i < cs.size(); ++i)
    if (cs[i].type != nullptr && *cs[i].type == *t)
      return static_cast<uint16_t>(i);
  return generic_record;
}

} // namespace

namespace detail {

const char* digested_message_type(const caf::message& x) {
  // Batches too: a stepper trace whose gradients are digests cannot be
  // replayed anyway, and batches are most of its bytes.
  if (x.match_elements<contribution>())
    return "contribution";
  if (x.match_elements<reduced_gradient>())
    return "reduced_gradient";
  if (x.match_elements<step_batch>())
    return "step_batch";
  return nullptr;
}

} // namespace detail

std::vector<std::string> troupe_type_names() {
  return names_of(std::make_index_sequence<caf::id_block::troupe::end
                                           - caf::id_block::troupe::begin>{});
}

trace_error::trace_error(const std::string& path, int64_t record,
                         uint64_t offset, const std::string& what)
    : std::runtime_error(
      record < 0 ? fmt::format("{}: header at byte {}: {}", path, offset, what)
                 : fmt::format("{}: record {} at byte {}: {}", path, record,
                               offset, what)),
      record_(record), offset_(offset) {
  // nop
}

// -- writer -------------------------------------------------------------------

trace_writer::trace_writer(caf::actor_system& sys, std::string path,
                           std::string actor, std::vector<std::string> types,
                           trace_tensors tensors,
                           std::chrono::milliseconds flush_every)
    : sys_(sys), path_(std::move(path)), flush_every_(flush_every),
      last_flush_(std::chrono::steady_clock::now()), tensors_(tensors) {
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr)
    throw output_error(
      fmt::format("{}: cannot create: {}", path_, std::strerror(errno)));
  trace_header h;
  h.actor = std::move(actor);
  h.types = std::move(types);
  h.tensors = to_string(tensors);
  for (const auto& name : troupe_type_names()) {
    auto i = std::find(h.types.begin(), h.types.end(), name);
    header_index_of_codec_.push_back(
      i == h.types.end() || i - h.types.begin() >= generic_record
        ? -1
        : static_cast<int>(i - h.types.begin()));
  }
  std::vector<char> hb;
  caf::binary_serializer sink{sys_, hb};
  if (auto err = sink(h)) {
    std::fclose(file_);
    file_ = nullptr;
    std::remove(path_.c_str());
    throw output_error(path_ + ": cannot serialize the header");
  }
  std::string out(magic, sizeof(magic));
  put_u32(out, trace_version);
  put_u32(out, static_cast<uint32_t>(hb.size()));
  out.append(hb.data(), hb.size());
  put_u32(out, crc32c(hb.data(), hb.size()));
  if (std::fwrite(out.data(), 1, out.size(), file_) != out.size()
      || std::fflush(file_) != 0) {
    auto err = errno;
    std::fclose(file_);
    file_ = nullptr;
    std::remove(path_.c_str());
    throw output_error(
      fmt::format("{}: write failed: {}", path_, std::strerror(err)));
  }
  whole_ = static_cast<long>(out.size());
}

trace_writer::~trace_writer() {
  try {
    close();
  } catch (...) {
    // Cut back to its last whole record already.
  }
}

void trace_writer::append(trace_kind kind, uint64_t sender, uint64_t message_id,
                          const caf::message& content) {
  if (file_ == nullptr)
    throw output_error(path_ + ": written after close");
  // Room for the framing first: the record is written with one call.
  buf_.resize(8);
  caf::binary_serializer sink{sys_, buf_};
  sink.seek(8);
  auto k = static_cast<uint8_t>(kind);
  scoped_tensor_digests digests{tensors_ == trace_tensors::digest
                                && detail::digested_message_type(content)
                                  != nullptr};
  // Typed when the header lists the type (by its index there).
  auto local = codec_of(content);
  auto type = local == generic_record ? -1 : header_index_of_codec_[local];
  auto tag = type < 0 ? generic_record : static_cast<uint16_t>(type);
  auto err = sink(k, sender, message_id, tag);
  if (!err)
    err = type < 0 ? sink(const_cast<caf::message&>(content))
                   : codecs()[local].save(sink, content);
  if (err)
    throw output_error(fmt::format("{}: cannot serialize record {}: {}", path_,
                                   records_, sys_.render(err)));
  auto size = buf_.size() - 8;
  auto crc = crc32c(buf_.data() + 8, size);
  for (int i = 0; i < 4; ++i) {
    buf_[i] = static_cast<char>((size >> (8 * i)) & 0xff);
    buf_[4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  }
  pending_.insert(pending_.end(), buf_.begin(), buf_.end());
  ++records_;
  auto now = std::chrono::steady_clock::now();
  if (pending_.size() >= (size_t{1} << 20)
      || now - last_flush_ >= flush_every_) {
    last_flush_ = now;
    write_pending();
  }
}

void trace_writer::write_pending() {
  if (pending_.empty())
    return;
  auto n = pending_.size();
  bool ok = std::fwrite(pending_.data(), 1, n, file_) == n
    && std::fflush(file_) == 0;
  auto err = errno;
  pending_.clear();
  if (!ok) {
    // Pending holds whole records only: cut the file back to the last of
    // them that made it, so that a reader sees a clean end.
    cut_back_and_close(file_, whole_);
    file_ = nullptr;
    throw output_error(fmt::format("{}: write failed (cut back to its last "
                                   "whole record): {}",
                                   path_, std::strerror(err)));
  }
  whole_ += static_cast<long>(n);
}

void trace_writer::close() {
  if (file_ == nullptr)
    return;
  write_pending();
  auto rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0)
    throw output_error(path_ + ": close failed");
}

// -- reader -------------------------------------------------------------------

trace_reader::trace_reader(caf::actor_system& sys, std::string path)
    : sys_(sys), path_(std::move(path)) {
  // One read into a buffer of the file's size (a stream would copy twice).
  std::unique_ptr<FILE, int (*)(FILE*)> f{std::fopen(path_.c_str(), "rb"),
                                          &std::fclose};
  if (!f || std::fseek(f.get(), 0, SEEK_END) != 0)
    throw trace_error(path_, -1, 0,
                      fmt::format("cannot read the file: {}",
                                  std::strerror(errno)));
  struct stat st {};
  if (::fstat(fileno(f.get()), &st) == 0 && !S_ISREG(st.st_mode))
    throw trace_error(path_, -1, 0, "not a regular file (a directory?)");
  auto size = std::ftell(f.get());
  // ftell of a directory is LONG_MAX on Linux: trust only regular files.
  if (size < 0 || std::fseek(f.get(), 0, SEEK_SET) != 0)
    throw trace_error(path_, -1, 0, "cannot read the file");
  bytes_.resize(static_cast<size_t>(size));
  if (std::fread(bytes_.data(), 1, bytes_.size(), f.get()) != bytes_.size())
    throw trace_error(path_, -1, 0, "cannot read the file (short read)");
  read_header();
}

trace_reader::trace_reader(caf::actor_system& sys, std::string name,
                           std::string bytes)
    : sys_(sys), path_(std::move(name)), bytes_(std::move(bytes)) {
  read_header();
}

void trace_reader::read_header() {
  if (bytes_.size() < 16 || std::memcmp(bytes_.data(), magic, 8) != 0)
    throw trace_error(path_, -1, 0, "not a troupe trace (bad magic)");
  version_ = get_u32(bytes_, 8);
  if (version_ < 1 || version_ > trace_version)
    throw trace_error(path_, -1, 8,
                      fmt::format("version {}, this reader knows 1 to {}",
                                  version_, trace_version));
  uint64_t size = get_u32(bytes_, 12);
  if (16 + size + 4 > bytes_.size())
    throw trace_error(path_, -1, 12, "truncated header");
  if (crc32c(bytes_.data() + 16, size) != get_u32(bytes_, 16 + size))
    throw trace_error(path_, -1, 16, "header checksum mismatch");
  caf::binary_deserializer source{sys_, bytes_.data() + 16, size};
  caf::error err;
  if (version_ == 1) {
    trace_header_v1 h;
    err = source(h);
    header_.version = h.version;
    header_.actor = std::move(h.actor);
    header_.types = std::move(h.types);
  } else {
    err = source(header_);
  }
  if (err || header_.version != version_)
    throw trace_error(path_, -1, 16, "malformed header");
  if (source.remaining() != 0)
    throw trace_error(path_, -1, 16, "header has trailing bytes");
  // Typed records name their type by its index in the writer's list: map
  // each to this reader's codec by name (-1: unknown here).
  auto local = troupe_type_names();
  codec_of_header_.clear();
  for (const auto& name : header_.types) {
    // Version 3 added the buffers to contribution and reduced_gradient and
    // the lines to callback_effects, version 4 the skip flags to
    // reduced_gradient and step_summary: older records of them are of
    // another layout, unknown here.
    bool changed = (version_ < 3
                    && (name == "troupe::contribution"
                        || name == "troupe::reduced_gradient"
                        || name == "troupe::callback_effects"))
      || (version_ < 4
          && (name == "troupe::reduced_gradient"
              || name == "troupe::step_summary"));
    auto i = changed ? local.end()
                     : std::find(local.begin(), local.end(), name);
    auto c = i == local.end() ? -1 : static_cast<int>(i - local.begin());
    codec_of_header_.push_back(
      c >= 0 && codecs()[static_cast<size_t>(c)].load ? c : -1);
  }
  if (header_.tensors != "full" && header_.tensors != "digest")
    throw trace_error(path_, -1, 16,
                      fmt::format("unknown tensor recording '{}'",
                                  header_.tensors));
  pos_ = 16 + size + 4;
}

bool trace_reader::next(trace_entry& out) {
  if (pos_ == bytes_.size())
    return false;
  auto offset = pos_;
  auto index = static_cast<int64_t>(index_);
  if (pos_ + 8 > bytes_.size())
    throw trace_error(path_, index, offset, "truncated record header");
  uint64_t size = get_u32(bytes_, pos_);
  auto crc = get_u32(bytes_, pos_ + 4);
  if (pos_ + 8 + size > bytes_.size())
    throw trace_error(path_, index, offset,
                      fmt::format("truncated: {} payload bytes announced, {} "
                                  "left",
                                  size, bytes_.size() - pos_ - 8));
  const char* payload = bytes_.data() + pos_ + 8;
  if (crc32c(payload, size) != crc)
    throw trace_error(path_, index, offset, "checksum mismatch");
  caf::binary_deserializer source{sys_, payload, size};
  uint8_t kind = 0;
  uint64_t sender = 0;
  uint64_t message_id = 0;
  caf::message content;
  caf::error err;
  if (version_ == 1) {
    err = source(kind, sender, content);
  } else {
    uint16_t type = 0;
    err = source(kind, sender, message_id, type);
    if (!err && type == generic_record)
      err = source(content);
    else if (!err
             && (type >= codec_of_header_.size() || codec_of_header_[type] < 0))
      throw trace_error(path_, index, offset,
                        fmt::format("malformed record: message type {} is not "
                                    "one this reader knows",
                                    type < header_.types.size()
                                      ? "'" + header_.types[type] + "'"
                                      : std::to_string(type)));
    else if (!err)
      err = codecs()[static_cast<size_t>(codec_of_header_[type])].load(source,
                                                                       content);
  }
  if (err)
    throw trace_error(path_, index, offset,
                      "malformed record: " + sys_.render(err));
  if (source.remaining() != 0 || kind > 2)
    throw trace_error(path_, index, offset, "malformed record");
  out.index = index_++;
  out.offset = offset;
  out.size = 8 + size;
  out.kind = static_cast<trace_kind>(kind);
  out.sender = sender;
  out.message_id = message_id;
  out.content = std::move(content);
  pos_ += 8 + size;
  return true;
}

} // namespace troupe::core
