#include "troupe/core/data/idx_reader.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <zlib.h>

#include "troupe/core/util/errors.hpp"

namespace troupe::core {

namespace {

std::vector<uint8_t> gunzip(const std::string& path) {
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
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr)
    throw data_error(path,
                     fmt::format("cannot open: {}", std::strerror(errno)));
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof(buf));
    if (n < 0) {
      int code = 0;
      std::string msg = gzerror(f, &code);
      gzclose(f);
      throw data_error(path, "corrupt gzip data: " + msg);
    }
    if (n == 0)
      break;
    out.insert(out.end(), buf, buf + n);
  }
  int code = 0;
  std::string msg = gzerror(f, &code);
  gzclose(f);
  if (code != Z_OK && code != Z_STREAM_END)
    throw data_error(path, "corrupt gzip data: " + msg);
  return out;
}

uint32_t big_endian(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8)
    | uint32_t{p[3]};
}

} // namespace

idx_array read_idx(const std::string& path, int expected_rank) {
  auto bytes = gunzip(path);
  if (bytes.size() < 4)
    throw data_error(
      path, fmt::format("truncated: {} bytes, no IDX header", bytes.size()));
  if (bytes[0] != 0 || bytes[1] != 0)
    throw data_error(path,
                     fmt::format("bad magic number 0x{:02x}{:02x}{:02x}"
                                 "{:02x} (not an IDX file)",
                                 bytes[0], bytes[1], bytes[2], bytes[3]));
  if (bytes[2] != 0x08)
    throw data_error(path,
                     fmt::format("bad magic number: element type 0x{:02x}"
                                 ", expected 0x08 (unsigned byte)",
                                 bytes[2]));
  int rank = bytes[3];
  if (rank != expected_rank)
    throw data_error(path,
                     fmt::format("bad magic number: {} dimensions, "
                                 "expected {}",
                                 rank, expected_rank));
  size_t header = 4 + 4 * static_cast<size_t>(rank);
  if (bytes.size() < header)
    throw data_error(path, "truncated: header ends early");
  idx_array result;
  size_t expected = 1;
  for (int i = 0; i < rank; ++i) {
    auto d = big_endian(bytes.data() + 4 + 4 * i);
    result.dims.push_back(d);
    expected *= d;
  }
  size_t have = bytes.size() - header;
  if (have < expected)
    throw data_error(path,
                     fmt::format("truncated: header announces {} data "
                                 "bytes, file holds {}",
                                 expected, have));
  if (have > expected)
    throw data_error(path,
                     fmt::format("size mismatch: header announces {} "
                                 "data bytes, file holds {}",
                                 expected, have));
  result.data.assign(bytes.begin() + header, bytes.end());
  return result;
}

} // namespace troupe::core
