#include "troupe/core/runtime/memory.hpp"

#include <cstdint>
#include <mutex>

#include <sys/mman.h>

#if defined(__GLIBC__)
#  include <malloc.h>
#endif

namespace troupe::core {

void retain_freed_memory() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    // 32 MiB is the largest mmap threshold glibc accepts on 64-bit; setting
    // either value also stops glibc from adapting them.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
  });
#endif
}

void advise_huge_pages(void* p, size_t n) {
#if defined(MADV_HUGEPAGE)
  constexpr uintptr_t huge = uintptr_t{2} << 20;
  auto first = (reinterpret_cast<uintptr_t>(p) + huge - 1) & ~(huge - 1);
  auto last = (reinterpret_cast<uintptr_t>(p) + n) & ~(huge - 1);
  if (last > first)
    madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
  (void)p;
  (void)n;
#endif
}

} // namespace troupe::core
