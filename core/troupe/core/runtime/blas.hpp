#pragma once

#include <cstdint>
#include <string>

namespace troupe::core {

/// The BLAS library LibTorch calls: "openblas" or "reference" (Debian's
/// netlib BLAS, about 15x slower for an MLP).
std::string blas_vendor();

/// The kernel OpenBLAS chose for this CPU (openblas_get_corename, e.g.
/// "Haswell", "SkylakeX", "Zen"); "" under another BLAS. A generic kernel
/// ("Prescott", "Core2") means OpenBLAS fell back and runs much slower.
std::string blas_core();

/// "openblas (Haswell kernel)", or "reference".
std::string blas_description();

/// Sets LibTorch's intra-op threads and, under OpenBLAS, its own pool, for
/// the whole process: fits running at the same time in one process should
/// use the same value. Call before the actor system starts; threads it starts
/// pick the setting up (see compute_thread_hook in the trainer), threads
/// that ran ATen before keep their old one.
void set_compute_threads(int n);

/// The cores this process may run on (its CPU affinity, which containers
/// and taskset narrow), at least 1.
int64_t usable_cores();

/// Intra-op threads per replica when the option is 0: the usable cores
/// shared among the replicas, at least 1.
int64_t default_intra_op_threads(int64_t replicas);

/// Makes this thread use the intra-op setting of set_compute_threads
/// (OpenMP keeps a count per thread; a thread that has not run an ATen
/// parallel region yet would hand OpenBLAS the machine's core count).
void adopt_compute_threads();

/// A warning to print when LibTorch runs on the reference BLAS, else empty.
std::string blas_warning();

} // namespace troupe::core
