#pragma once

// Protocol stepper <-> aggregator.

#include <cstdint>

#include "troupe/messages/metrics.hpp"
#include "troupe/messages/tensor_payload.hpp"

namespace troupe {

/// Stepper -> aggregator: replica `rank`'s share of optimizer step `step`.
/// `grad` is the replica's flat gradient buffer, already weighted by
/// samples / global batch, so the rank-ordered sum is the step's gradient.
/// `lr` is the learning rate this replica applies in the step. `buffers`
/// holds the replica's floating-point module buffers after the step's
/// forward passes (e.g. BatchNorm's running statistics), flattened in
/// registration order; undefined with one replica or none to average.
struct contribution {
  int64_t epoch = 0;
  int64_t step = 0;
  int32_t rank = 0;
  int64_t samples = 0;
  double lr = 0;
  tensor_payload grad;
  tensor_payload buffers;
  metric_sums outputs;
};

inline bool operator==(const contribution& x, const contribution& y) {
  return x.epoch == y.epoch && x.step == y.step && x.rank == y.rank
    && x.samples == y.samples && x.lr == y.lr && x.grad == y.grad
    && x.buffers == y.buffers && x.outputs == y.outputs;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, contribution& x) {
  return f(caf::meta::type_name("contribution"), x.epoch, x.step, x.rank,
           x.samples, x.lr, x.grad, x.buffers, x.outputs);
}

/// Aggregator -> every stepper: the gradient to apply for `step` (clipped
/// when clipping is on) and the replicas' buffers averaged in rank order
/// (undefined when the contributions had none).
struct reduced_gradient {
  int64_t step = 0;
  tensor_payload grad;
  tensor_payload buffers;
  /// A replica's loss was not finite and --on-nonfinite-loss=skip-step: no
  /// replica applies this step (the optimizer does not step, the buffers
  /// go back to what they were before it).
  bool skip = false;
};

inline bool operator==(const reduced_gradient& x, const reduced_gradient& y) {
  return x.step == y.step && x.grad == y.grad && x.buffers == y.buffers
    && x.skip == y.skip;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reduced_gradient& x) {
  return f(caf::meta::type_name("reduced_gradient"), x.step, x.grad, x.buffers,
           x.skip);
}

} // namespace troupe
