#include "troupe/core/trace_format.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "troupe/core/errors.hpp"
#include "troupe/core/tfevents.hpp"
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
  return f(caf::meta::type_name("trace_header"), x.version, x.actor, x.types);
}

trace_error::trace_error(const std::string& path, int64_t record,
                         uint64_t offset, const std::string& what)
  : std::runtime_error(
    record < 0
      ? fmt::format("{}: header at byte {}: {}", path, offset, what)
      : fmt::format("{}: record {} at byte {}: {}", path, record, offset, what)),
    record_(record),
    offset_(offset) {
  // nop
}

std::vector<std::string> troupe_type_names() {
  return names_of(std::make_index_sequence<caf::id_block::troupe::end
                                           - caf::id_block::troupe::begin>{});
}

// -- writer ------------------------------------------------------------------------

trace_writer::trace_writer(caf::actor_system& sys, std::string path,
                           std::string actor, std::vector<std::string> types)
  : sys_(sys), path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr)
    throw output_error(fmt::format("{}: cannot create: {}", path_,
                                   std::strerror(errno)));
  trace_header h;
  h.actor = std::move(actor);
  h.types = std::move(types);
  std::vector<char> hb;
  caf::binary_serializer sink{sys_, hb};
  if (auto err = sink(h))
    throw output_error(path_ + ": cannot serialize the header");
  std::string out(magic, sizeof(magic));
  put_u32(out, trace_version);
  put_u32(out, static_cast<uint32_t>(hb.size()));
  out.append(hb.data(), hb.size());
  put_u32(out, crc32c(hb.data(), hb.size()));
  if (std::fwrite(out.data(), 1, out.size(), file_) != out.size()
      || std::fflush(file_) != 0)
    throw output_error(fmt::format("{}: write failed: {}", path_,
                                   std::strerror(errno)));
}

trace_writer::~trace_writer() {
  if (file_ != nullptr)
    std::fclose(file_);
}

void trace_writer::append(trace_kind kind, uint64_t sender,
                          const caf::message& content) {
  if (file_ == nullptr)
    throw output_error(path_ + ": written after close");
  buf_.clear();
  caf::binary_serializer sink{sys_, buf_};
  auto k = static_cast<uint8_t>(kind);
  if (auto err = sink(k, sender, const_cast<caf::message&>(content)))
    throw output_error(fmt::format("{}: cannot serialize record {}: {}", path_,
                                   records_, sys_.render(err)));
  std::string out;
  out.reserve(buf_.size() + 8);
  put_u32(out, static_cast<uint32_t>(buf_.size()));
  put_u32(out, crc32c(buf_.data(), buf_.size()));
  out.append(buf_.data(), buf_.size());
  if (std::fwrite(out.data(), 1, out.size(), file_) != out.size()
      || std::fflush(file_) != 0)
    throw output_error(fmt::format("{}: write failed: {}", path_,
                                   std::strerror(errno)));
  ++records_;
}

void trace_writer::close() {
  if (file_ == nullptr)
    return;
  auto rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0)
    throw output_error(path_ + ": close failed");
}

// -- reader ------------------------------------------------------------------------

trace_reader::trace_reader(caf::actor_system& sys, std::string path)
  : sys_(sys), path_(std::move(path)) {
  std::ifstream in(path_, std::ios::binary);
  if (!in)
    throw trace_error(path_, -1, 0, "cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  bytes_ = ss.str();
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
  auto version = get_u32(bytes_, 8);
  if (version != trace_version)
    throw trace_error(path_, -1, 8,
                      fmt::format("version {}, this reader knows {}", version,
                                  trace_version));
  uint64_t size = get_u32(bytes_, 12);
  if (16 + size + 4 > bytes_.size())
    throw trace_error(path_, -1, 12, "truncated header");
  if (crc32c(bytes_.data() + 16, size) != get_u32(bytes_, 16 + size))
    throw trace_error(path_, -1, 16, "header checksum mismatch");
  caf::binary_deserializer source{sys_, bytes_.data() + 16, size};
  if (auto err = source(header_))
    throw trace_error(path_, -1, 16, "malformed header");
  if (source.remaining() != 0)
    throw trace_error(path_, -1, 16, "header has trailing bytes");
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
  caf::message content;
  if (auto err = source(kind, sender, content))
    throw trace_error(path_, index, offset,
                      "malformed record: " + sys_.render(err));
  if (source.remaining() != 0 || kind > 2)
    throw trace_error(path_, index, offset, "malformed record");
  out.index = index_++;
  out.offset = offset;
  out.size = 8 + size;
  out.kind = static_cast<trace_kind>(kind);
  out.sender = sender;
  out.content = std::move(content);
  pos_ += 8 + size;
  return true;
}

} // namespace troupe::core
