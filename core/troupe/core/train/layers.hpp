#pragma once

// Modules whose randomness is the replica's: they draw from
// core::replica_generator() (rng.hpp), the generator of the stepper running
// the step, so that several replicas on several threads stay deterministic.
// LibTorch's own torch::nn::Dropout draws from the process-wide generator,
// which a fit with more than one replica refuses.
//
// Any randomness of a model works the same way: pass
// `troupe::core::replica_generator()` to the drawing function, e.g.
// `at::randn(sizes, troupe::core::replica_generator())` or
// `x.bernoulli_(p, troupe::core::replica_generator())`.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace troupe::core {

/// Inverted dropout: in training mode each element is zeroed with
/// probability `p` and the others scaled by 1 / (1 - p); in evaluation mode
/// the identity. The mask comes from the replica's generator.
struct dropout_impl : torch::nn::Module {
  explicit dropout_impl(double p = 0.5);

  at::Tensor forward(const at::Tensor& x);

  double p;
};

TORCH_MODULE_IMPL(dropout, dropout_impl);

} // namespace troupe::core
