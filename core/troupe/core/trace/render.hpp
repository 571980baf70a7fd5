#pragma once

// Re-rendering a finished run's metric files offline, from its recorded
// coordinator inbox, with another logging interval or reduction: no
// retraining. The records follow core::metric_book, as the live coordinator
// does, so the files equal what a fresh run with those settings writes.
// Callbacks' own metrics are not re-rendered (their logic is not recorded).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "troupe/core/train/reducers.hpp"

namespace troupe::core {

struct render_options {
  std::string run_dir; ///< holds config.json and trace/coordinator.trace
  std::string out_dir;
  int64_t log_every_n_steps = 50;
  std::map<std::string, reduction_spec> reduce;
  std::vector<std::string> loggers = {"csv", "jsonl"};
  /// Replace the files of a run already in `out_dir` (never `run_dir`).
  bool force = false;
};

/// Writes the metric files into `out_dir`; returns the number of steps
/// rendered. Throws data_error (missing or corrupt input, naming the file)
/// or config_error / output_error.
int64_t render_metrics(caf::actor_system& sys, const render_options& opts);

} // namespace troupe::core
