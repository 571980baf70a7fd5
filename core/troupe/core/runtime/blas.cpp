#include "troupe/core/runtime/blas.hpp"

#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <thread>

#include <ATen/Parallel.h>

namespace troupe::core {

namespace {

/// A function of whichever BLAS LibTorch loaded, looked up by name (troupe
/// links no BLAS itself); null when that BLAS has none.
template <class F>
F blas_function(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

using set_threads_fn = void (*)(int);
using corename_fn = char* (*)();

} // namespace

std::string blas_vendor() {
  return blas_function<set_threads_fn>("openblas_set_num_threads") != nullptr
    ? "openblas"
    : "reference";
}

std::string blas_core() {
  auto f = blas_function<corename_fn>("openblas_get_corename");
  if (f == nullptr)
    return {};
  const char* name = f();
  return name == nullptr ? std::string{} : std::string{name};
}

std::string blas_description() {
  auto core = blas_core();
  return core.empty() ? blas_vendor()
                      : blas_vendor() + " (" + core + " kernel)";
}

void set_compute_threads(int n) {
  at::set_num_threads(n);
  if (auto f = blas_function<set_threads_fn>("openblas_set_num_threads"))
    f(n);
}

int64_t usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return std::max(1, CPU_COUNT(&set));
  return std::max<int64_t>(1, std::thread::hardware_concurrency());
}

int64_t default_intra_op_threads(int64_t replicas) {
  return std::max<int64_t>(1, usable_cores() / std::max<int64_t>(1, replicas));
}

void adopt_compute_threads() {
  at::init_num_threads();
}

std::string blas_warning() {
  if (blas_vendor() == "openblas")
    return {};
  return "warning: LibTorch runs on the reference BLAS (about 15x slower); "
         "install libopenblas0-openmp";
}

} // namespace troupe::core
