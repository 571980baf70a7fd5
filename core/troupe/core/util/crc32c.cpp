#include "troupe/core/util/crc32c.hpp"

#include <array>
#include <cstring>

namespace troupe::core {

namespace {

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1; // reflected Castagnoli
    table[i] = c;
  }
  return table;
}

uint32_t crc32c_table(uint32_t c, const unsigned char* p, size_t size) {
  static const auto table = make_crc_table();
  for (size_t i = 0; i < size; ++i)
    c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// SSE 4.2's crc32 instruction computes exactly this polynomial (reflected
// Castagnoli), eight bytes per instruction: traces checksum every record.
__attribute__((target("sse4.2"))) uint32_t
crc32c_sse42(uint32_t c, const unsigned char* p, size_t size) {
  uint64_t c64 = c;
  for (; size >= 8; size -= 8, p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c64 = __builtin_ia32_crc32di(c64, w);
  }
  auto c32 = static_cast<uint32_t>(c64);
  for (; size > 0; --size, ++p)
    c32 = __builtin_ia32_crc32qi(c32, *p);
  return c32;
}

bool have_sse42() {
  static const bool yes = __builtin_cpu_supports("sse4.2");
  return yes;
}
#endif

} // namespace

uint32_t crc32c(const void* data, size_t size) {
  return crc32c_extend(0, data, size);
}

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size) {
  auto p = static_cast<const unsigned char*>(data);
  auto c = crc ^ 0xFFFFFFFFu;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (have_sse42())
    return crc32c_sse42(c, p, size) ^ 0xFFFFFFFFu;
#endif
  return crc32c_table(c, p, size) ^ 0xFFFFFFFFu;
}

} // namespace troupe::core
