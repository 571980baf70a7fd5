#pragma once

#include <cstddef>
#include <cstdint>

namespace troupe::core {

/// CRC-32C (Castagnoli), as TFRecord and troupe's trace format use it; SSE
/// 4.2's crc32 instruction where the CPU has it, a table otherwise.
uint32_t crc32c(const void* data, size_t size);

/// The CRC-32C of the bytes `crc` covers followed by `data`:
/// crc32c_extend(crc32c(a), b) is the CRC-32C of a then b.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size);

} // namespace troupe::core
