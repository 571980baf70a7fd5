// Fuzz target for the trace reader: any bytes must end in a clean record, a
// clean end or a trace_error, never a crash, hang or sanitizer report.
//
// Built two ways: with libFuzzer by scripts/fuzz_trace_reader.sh (clang,
// -fsanitize=fuzzer,address,undefined), and as a plain regression test that
// replays tests/fuzz/corpus/trace_reader through the same function (ctest).
//
// Random bytes almost never pass a CRC-32C, which would keep the fuzzer out
// of the deserializer. So when the first input byte is odd, the target
// rewrites every checksum to match before reading: the fuzzer then explores
// framing and CAF's deserialization of our messages too.

#include <cstdint>
#include <cstring>
#include <string>

#include <caf/all.hpp>

#include "troupe/core/trace/trace_format.hpp"
#include "troupe/core/util/crc32c.hpp"
#include "troupe/messages/type_ids.hpp"

namespace {

/// One actor system for every input, built in place (a config must not be
/// copied or moved) and never destroyed (no exit-order surprises).
caf::actor_system& fuzz_system() {
  static auto* sys = [] {
    auto* cfg = new caf::actor_system_config;
    cfg->add_message_types<caf::id_block::troupe>();
    cfg->set("logger.verbosity", caf::atom("quiet"));
    cfg->set("logger.console", caf::atom("none"));
    cfg->set("scheduler.max-threads", size_t{1});
    return new caf::actor_system{*cfg};
  }();
  return *sys;
}

uint32_t get_u32(const std::string& s, size_t at) {
  uint32_t x = 0;
  for (int i = 3; i >= 0; --i)
    x = (x << 8) | static_cast<unsigned char>(s[at + i]);
  return x;
}

void put_u32(std::string& s, size_t at, uint32_t x) {
  for (int i = 0; i < 4; ++i)
    s[at + i] = static_cast<char>((x >> (8 * i)) & 0xff);
}

/// Makes every checksum of `s` match its bytes, as far as the framing goes.
void fix_checksums(std::string& s) {
  if (s.size() < 16)
    return;
  uint64_t size = get_u32(s, 12);
  if (16 + size + 4 > s.size())
    return;
  put_u32(s, 16 + size, troupe::core::crc32c(s.data() + 16, size));
  for (uint64_t pos = 16 + size + 4; pos + 8 <= s.size();) {
    uint64_t n = get_u32(s, pos);
    if (pos + 8 + n > s.size())
      return;
    put_u32(s, pos + 4, troupe::core::crc32c(s.data() + pos + 8, n));
    pos += 8 + n;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1)
    fix_checksums(bytes);
  try {
    troupe::core::trace_reader r{fuzz_system(), "fuzz", std::move(bytes)};
    troupe::core::trace_entry e;
    while (r.next(e))
      caf::to_string(e.content); // touch what was decoded
  } catch (const troupe::core::trace_error&) {
    // refused cleanly
  }
  return 0;
}
