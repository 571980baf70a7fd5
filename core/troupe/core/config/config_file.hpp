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

/// The text of config.json: to_json(options) and the schedule fields
/// steps_per_epoch, total_steps and train_samples (what rendering needs).
std::string config_json(const trainer_options& options, const schedule& sched);

/// Reads and validates `path` (a config.json written by troupe).
recorded_config read_config_json(const std::string& path);

/// The same, from the text of such a file; `path` names it in errors.
recorded_config parse_config_json(const std::string& text,
                                  const std::string& path);

} // namespace troupe::core
