#include "troupe/core/data/idx_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <zlib.h>

#include "troupe/core/runtime/memory.hpp"
#include "troupe/core/util/errors.hpp"

namespace troupe::core {

namespace {

uint32_t big_endian(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8)
    | uint32_t{p[3]};
}

/// A gzip stream (or a plain file: zlib reads those as they are) read in
/// pieces, every error naming the file.
class gz_reader {
public:
  explicit gz_reader(const std::string& path) : path_(path) {
    std::error_code ec;
    auto exists = std::filesystem::exists(path, ec);
    if (ec)
      throw data_error(path, "cannot be checked: " + ec.message());
    if (!exists)
      throw data_error(path,
                       "file not found (install the Debian package "
                       "dataset-fashion-mnist or pass --data-dir)");
    if (std::filesystem::is_directory(path, ec))
      throw data_error(path, "is a directory, not an IDX file");
    file_size_ = std::filesystem::file_size(path, ec);
    if (ec)
      throw data_error(path, "cannot be sized: " + ec.message());
    f_ = gzopen(path.c_str(), "rb");
    if (f_ == nullptr)
      throw data_error(path,
                       fmt::format("cannot open: {}", std::strerror(errno)));
    gzbuffer(f_, 1 << 17);
  }
  gz_reader(const gz_reader&) = delete;
  gz_reader& operator=(const gz_reader&) = delete;
  ~gz_reader() {
    gzclose(f_);
  }

  /// Bytes on disk (compressed).
  uint64_t file_size() const noexcept {
    return file_size_;
  }

  /// Reads up to `n` bytes into `out`; returns how many (fewer at the end).
  size_t read(uint8_t* out, size_t n) {
    size_t done = 0;
    while (done < n) {
      auto want = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
      int got = gzread(f_, out + done, want);
      if (got < 0)
        fail();
      if (got == 0)
        break;
      done += static_cast<size_t>(got);
    }
    // gzread returns what it has before a stream error: ask.
    int code = 0;
    gzerror(f_, &code);
    if (code != Z_OK && code != Z_STREAM_END)
      fail();
    return done;
  }

private:
  [[noreturn]] void fail() {
    int code = 0;
    std::string msg = gzerror(f_, &code);
    throw data_error(path_, "corrupt gzip data: " + msg);
  }

  std::string path_;
  uint64_t file_size_ = 0;
  gzFile f_ = nullptr;
};

} // namespace

idx_array read_idx(const std::string& path, int expected_rank) {
  gz_reader in{path};
  uint8_t magic[4] = {0, 0, 0, 0};
  auto got = in.read(magic, 4);
  if (got < 4)
    throw data_error(path,
                     fmt::format("truncated: {} bytes, no IDX header", got));
  if (magic[0] != 0 || magic[1] != 0)
    throw data_error(path,
                     fmt::format("bad magic number 0x{:02x}{:02x}{:02x}"
                                 "{:02x} (not an IDX file)",
                                 magic[0], magic[1], magic[2], magic[3]));
  if (magic[2] != 0x08)
    throw data_error(path,
                     fmt::format("bad magic number: element type 0x{:02x}"
                                 ", expected 0x08 (unsigned byte)",
                                 magic[2]));
  int rank = magic[3];
  if (rank != expected_rank)
    throw data_error(path,
                     fmt::format("bad magic number: {} dimensions, "
                                 "expected {}",
                                 rank, expected_rank));
  std::vector<uint8_t> dims(4 * static_cast<size_t>(rank));
  if (in.read(dims.data(), dims.size()) < dims.size())
    throw data_error(path, "truncated: header ends early");
  idx_array result;
  // Deflate expands at most about 1032:1, so a header announcing more than
  // that is refused before anything is allocated for it.
  const uint64_t most = std::max<uint64_t>(in.file_size(), 1) * 1100;
  uint64_t expected = 1;
  for (int i = 0; i < rank; ++i) {
    auto d = big_endian(dims.data() + 4 * i);
    result.dims.push_back(d);
    if (d != 0 && expected > most / d)
      throw data_error(path,
                       fmt::format("corrupt header: dimension {} is {}, more "
                                   "data than {} compressed bytes can hold",
                                   i, d, in.file_size()));
    expected *= d;
  }
  // Decoded straight into a buffer of the announced size (no regrowth), in
  // pages advised huge before they are touched. A header can still announce
  // far more than the stream holds: the buffer grows past a first part
  // sized from the file only as data actually arrives.
  auto total = static_cast<size_t>(expected);
  const size_t first_part = std::min<size_t>(
    total, std::max<uint64_t>(uint64_t{64} << 20, 8 * in.file_size()));
  result.data.reserve(first_part);
  advise_huge_pages(result.data.data(), result.data.capacity());
  size_t have = 0;
  while (have < total) {
    auto next = have == 0 ? first_part : std::min(total, 2 * have);
    result.data.resize(next);
    auto got = in.read(result.data.data() + have, next - have);
    have += got;
    if (have < next)
      throw data_error(path,
                       fmt::format("truncated: header announces {} data "
                                   "bytes, file holds {}",
                                   expected, have));
  }
  // Anything after the data is refused; counted up to 1 MiB more.
  uint8_t extra[4096];
  size_t more = 0;
  for (size_t got = 0;
       more < (size_t{1} << 20) && (got = in.read(extra, sizeof(extra))) > 0;)
    more += got;
  if (more > 0)
    throw data_error(path,
                     fmt::format("size mismatch: header announces {} "
                                 "data bytes, file holds {}{}",
                                 expected, expected + more,
                                 more >= (size_t{1} << 20) ? " or more" : ""));
  return result;
}

} // namespace troupe::core
