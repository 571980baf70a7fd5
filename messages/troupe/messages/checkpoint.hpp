#pragma once

// Protocol of checkpoints: the steppers, the coordinator (for itself and
// each callback) and the logger each send their share of the checkpoint of
// step s to the checkpointer, which writes the file once every share of s
// is in (core/train/checkpoint.hpp gives the file's format).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace troupe {

/// One named, opaque part of a checkpoint ("model", "optimizer",
/// "generator/0", "fit", "callback/0", "sink/csv", ...).
struct checkpoint_section {
  std::string name;
  std::string bytes;
};

inline bool operator==(const checkpoint_section& x,
                       const checkpoint_section& y) {
  return x.name == y.name && x.bytes == y.bytes;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint_section& x) {
  return f(caf::meta::type_name("checkpoint_section"), x.name, x.bytes);
}

/// One actor's share of the checkpoint of optimizer step `step`: the state
/// it held right after that step, whatever it did since.
struct checkpoint_part {
  int64_t step = 0;
  std::string from; ///< the actor, for error messages
  std::vector<checkpoint_section> sections;
};

inline bool operator==(const checkpoint_part& x, const checkpoint_part& y) {
  return x.step == y.step && x.from == y.from && x.sections == y.sections;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint_part& x) {
  return f(caf::meta::type_name("checkpoint_part"), x.step, x.from, x.sections);
}

/// Coordinator -> a stepper, a callback host or the logger: send your
/// share of the checkpoint of `step` (a stepper that has not applied that
/// step yet sends it once it has).
struct checkpoint_request {
  int64_t step = 0;
};

inline bool operator==(const checkpoint_request& x,
                       const checkpoint_request& y) {
  return x.step == y.step;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint_request& x) {
  return f(caf::meta::type_name("checkpoint_request"), x.step);
}

/// Coordinator -> checkpointer at the end of a fit: answered once the
/// checkpoint of `step` is on disk or failed, with every write that failed.
struct checkpoint_flush {
  int64_t step = 0;
};

inline bool operator==(const checkpoint_flush& x, const checkpoint_flush& y) {
  return x.step == y.step;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint_flush& x) {
  return f(caf::meta::type_name("checkpoint_flush"), x.step);
}

} // namespace troupe
