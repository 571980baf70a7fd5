#pragma once

// Per-replica random generators. LibTorch's global generator is one for the
// process: replicas drawing from it on several threads would make results
// depend on thread timing. Each stepper owns a generator seeded from
// (seed, rank) and installs it around every call of model_def::step.

#include <cstdint>

#include <ATen/core/Generator.h>

namespace troupe::core {

/// The generator of the replica whose step runs on this thread; outside a
/// stepper, LibTorch's global CPU generator. Models draw their randomness
/// (dropout masks, noise) from it, e.g. `torch::bernoulli(p, gen)`.
at::Generator replica_generator();

/// A generator that is a pure function of (seed, rank).
at::Generator make_replica_generator(uint64_t seed, int64_t rank);

/// Installs `gen` as this thread's replica generator for its lifetime.
class replica_generator_scope {
public:
  explicit replica_generator_scope(const at::Generator& gen);
  ~replica_generator_scope();

  replica_generator_scope(const replica_generator_scope&) = delete;
  replica_generator_scope& operator=(const replica_generator_scope&) = delete;

private:
  const at::Generator* previous_;
};

/// A copy of the global CPU generator's state, to detect models that draw
/// from it (compared before and after a step).
at::Tensor global_generator_state();

} // namespace troupe::core
