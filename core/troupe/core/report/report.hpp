#pragma once

// A self-contained HTML training report: inline SVG charts, no network, no
// external scripts. Built from the files of a run directory.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "troupe/core/util/json.hpp"

namespace troupe::core {

/// What a report shows, read back from a run directory.
struct run_record {
  std::string dir;
  std::vector<json_field> config;  ///< config.json (empty when absent)
  std::vector<json_field> summary; ///< summary.json (empty when absent)
  /// Metric names in order of first appearance.
  std::vector<std::string> names;
  /// (step, value) points of every metric, in step order.
  std::map<std::string, std::vector<std::pair<int64_t, double>>> series;
};

/// Reads metrics.jsonl (or, without it, metrics.csv), config.json and
/// summary.json of `dir`. Throws data_error naming the file that is missing
/// or malformed (with the line number).
run_record load_run(const std::string& dir);

/// TensorBoard's smoothing: a debiased exponential moving average with
/// `weight` in [0, 1).
std::vector<double> smooth(const std::vector<double>& xs, double weight = 0.6);

/// The report as one HTML document.
std::string render_report(const run_record& run);

/// Loads `dir`, renders, writes `out` (default `<dir>/report.html`)
/// atomically; returns the path written.
std::string write_report(const std::string& dir, const std::string& out = "");

} // namespace troupe::core
