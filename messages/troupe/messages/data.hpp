#pragma once

// Protocol loader -> stepper, and coordinator -> loader.

#include <cstdint>
#include <vector>

#include "troupe/messages/tensor_payload.hpp"

namespace troupe {

/// One forward/backward worth of samples for one replica.
struct micro_batch {
  tensor_payload inputs;
  tensor_payload targets;
};

inline bool operator==(const micro_batch& x, const micro_batch& y) {
  return x.inputs == y.inputs && x.targets == y.targets;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, micro_batch& x) {
  return f(caf::meta::type_name("micro_batch"), x.inputs, x.targets);
}

/// Everything replica `rank` consumes for optimizer step `step`: `accumulate`
/// micro-batches, in order. Sent by the loader to the stepper of `rank`.
struct step_batch {
  int64_t epoch = 0;
  int64_t step = 0;
  int32_t rank = 0;
  std::vector<micro_batch> micro;
};

inline bool operator==(const step_batch& x, const step_batch& y) {
  return x.epoch == y.epoch && x.step == y.step && x.rank == y.rank
    && x.micro == y.micro;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_batch& x) {
  return f(caf::meta::type_name("step_batch"), x.epoch, x.step, x.rank,
           x.micro);
}

/// Coordinator -> loader: batches of steps up to and including `last_step`
/// may be produced. Permits only grow; they bound prefetch and fix the step at
/// which a stop takes effect.
struct step_permit {
  int64_t last_step = 0;
};

inline bool operator==(const step_permit& x, const step_permit& y) {
  return x.last_step == y.last_step;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_permit& x) {
  return f(caf::meta::type_name("step_permit"), x.last_step);
}

} // namespace troupe
