#include "troupe/core/runtime/blas.hpp"

#include <dlfcn.h>

#include <ATen/Parallel.h>

namespace troupe::core {

namespace {

using set_threads_fn = void (*)(int);

set_threads_fn openblas_set_threads() {
  return reinterpret_cast<set_threads_fn>(
    dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
}

} // namespace

std::string blas_vendor() {
  return openblas_set_threads() != nullptr ? "openblas" : "reference";
}

void set_compute_threads(int n) {
  at::set_num_threads(n);
  if (auto f = openblas_set_threads())
    f(n);
}

std::string blas_warning() {
  if (blas_vendor() == "openblas")
    return {};
  return "warning: LibTorch runs on the reference BLAS (about 15x slower); "
         "install libopenblas0-openmp";
}

} // namespace troupe::core
