#pragma once

#include <string>

namespace troupe::core {

/// The BLAS library LibTorch calls: "openblas" or "reference" (Debian's
/// netlib BLAS, about 15x slower for an MLP).
std::string blas_vendor();

/// Sets LibTorch's intra-op threads and, under OpenBLAS, its own pool.
/// Call before the actor system starts: threads that already ran ATen keep
/// their old setting.
void set_compute_threads(int n);

/// A warning to print when LibTorch runs on the reference BLAS, else empty.
std::string blas_warning();

} // namespace troupe::core
