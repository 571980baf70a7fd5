#pragma once

// A reader for the gzip-compressed IDX files of (Fashion-)MNIST, on zlib.

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::core {

/// The contents of one IDX file of unsigned bytes.
struct idx_array {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

/// Reads `path` (gzip-compressed IDX, type 0x08 = ubyte) and checks its magic
/// number, its rank (`expected_rank`) and that the data has exactly the
/// announced size. Throws data_error naming the file.
idx_array read_idx(const std::string& path, int expected_rank);

} // namespace troupe::core
