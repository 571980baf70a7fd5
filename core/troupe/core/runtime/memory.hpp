#pragma once

#include <cstddef>

namespace troupe::core {

/// Keeps freed heap memory in the process instead of handing it back to the
/// kernel (glibc's mallopt: blocks up to 32 MiB come from the heap, not from
/// mmap, and the heap is trimmed only beyond 512 MiB free at its top). A
/// tensor allocated afresh each step (a batch, an activation, a weight's
/// gradient) then reuses pages that are already mapped instead of faulting
/// them in again: on a virtual machine a fault costs about 13 us per 4 KiB
/// page. Process-wide, idempotent and permanent (a later fit with
/// retain_memory off does not undo it); a no-op on other C libraries.
void retain_freed_memory();

/// Asks the kernel to back [p, p + n) with transparent huge pages (madvise)
/// before it is first touched: faulting in a large data set then costs one
/// fault per 2 MiB instead of one per 4 KiB. Only whole huge pages inside
/// the range are advised; harmless where THP is off or unsupported.
void advise_huge_pages(void* p, size_t n);

} // namespace troupe::core
