#pragma once

#include <cstdint>

namespace troupe::core {

/// splitmix64's output function applied to `x` plus its increment: a cheap,
/// well-mixed 64-bit hash step (replica seeds, per-sample draws).
constexpr uint64_t splitmix64(uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

} // namespace troupe::core
