#pragma once

// summary.json: how a fit ended, written once at its end (or when its set-up
// failed), atomically.

#include <string>

#include "troupe/messages/step.hpp"

namespace troupe::core {

/// The JSON object of `report`: status, error and sink errors when there
/// are any, global_step, epochs, samples, wall_seconds, then the last value
/// of every metric in `report.last`.
std::string summary_json(const fit_report& report);

/// Writes summary_json(report) to <run_dir>/summary.json atomically; throws
/// output_error.
void write_summary(const std::string& run_dir, const fit_report& report);

} // namespace troupe::core
