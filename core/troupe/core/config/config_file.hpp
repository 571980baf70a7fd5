#pragma once

// A run's config.json read back (troupe-trace render, troupe-report): every
// option through the same parser and checks as the command line, and the
// schedule recorded with them checked against what the options imply. Any
// problem is a data_error naming the file and the field.

#include <cstdint>
#include <string>

#include "troupe/core/config/options.hpp"
#include "troupe/core/train/schedule.hpp"

namespace troupe::core {

struct recorded_config {
  /// The options; a key the file lacks keeps its default.
  trainer_options options;
  /// The schedule of the run: schedule::make of the options and the
  /// recorded train_samples, equal to the recorded steps_per_epoch and
  /// total_steps.
  schedule sched;
};

/// How a run computed, recorded beside its options: its figures and its
/// bits depend on it.
struct compute_record {
  std::string blas;             ///< blas_vendor()
  std::string blas_core;        ///< blas_core(), "" when unknown
  int64_t intra_op_threads = 1; ///< resolved (never 0)
};

/// The text of config.json: to_json(options), the schedule fields
/// steps_per_epoch, total_steps and train_samples (what rendering needs),
/// and, when `compute` names a BLAS, blas, blas_core and
/// intra_op_threads_used.
std::string config_json(const trainer_options& options, const schedule& sched,
                        const compute_record& compute = {});

/// Reads and validates `path` (a config.json written by troupe).
recorded_config read_config_json(const std::string& path);

/// The same, from the text of such a file; `path` names it in errors.
recorded_config parse_config_json(const std::string& text,
                                  const std::string& path);

} // namespace troupe::core
