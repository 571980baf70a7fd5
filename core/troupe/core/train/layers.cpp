#include "troupe/core/train/layers.hpp"

#include <stdexcept>
#include <string>

#include <ATen/ATen.h>

#include "troupe/core/train/rng.hpp"

namespace troupe::core {

dropout_impl::dropout_impl(double p) : p(p) {
  if (!(p >= 0 && p < 1))
    throw std::invalid_argument("dropout: p must be in [0, 1), got "
                                + std::to_string(p));
}

at::Tensor dropout_impl::forward(const at::Tensor& x) {
  if (!is_training() || p == 0)
    return x;
  auto keep = at::empty_like(x).bernoulli_(1 - p, replica_generator());
  return x * keep * (1 / (1 - p));
}

} // namespace troupe::core
