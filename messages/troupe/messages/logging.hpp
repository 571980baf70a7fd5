#pragma once

// Protocol coordinator -> logger. The coordinator is the logger's only
// client, so records arrive in one deterministic order.

#include <cstdint>
#include <string>
#include <vector>

#include "troupe/messages/metrics.hpp"
#include "troupe/messages/step.hpp"

namespace troupe {

/// Where training stands, for the console's progress line.
struct progress_info {
  int64_t epoch = 0; ///< 0-based
  int64_t max_epochs = 0;
  int64_t step = 0;
  int64_t total_steps = 0;
  double loss = 0; ///< last logged train/loss, NaN when none yet
};

inline bool operator==(const progress_info& x, const progress_info& y) {
  return x.epoch == y.epoch && x.max_epochs == y.max_epochs && x.step == y.step
    && x.total_steps == y.total_steps
    && (x.loss == y.loss || (x.loss != x.loss && y.loss != y.loss));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, progress_info& x) {
  return f(caf::meta::type_name("progress_info"), x.epoch, x.max_epochs, x.step,
           x.total_steps, x.loss);
}

/// First message to the logger: the effective configuration (as JSON, for
/// config.json) and lines to show before training.
struct log_start {
  std::string config_json;
  std::vector<std::string> lines;
};

inline bool operator==(const log_start& x, const log_start& y) {
  return x.config_json == y.config_json && x.lines == y.lines;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_start& x) {
  return f(caf::meta::type_name("log_start"), x.config_json, x.lines);
}

/// Everything logged at one step, in order: metrics, then text lines, then a
/// progress update. The logger answers with the step (a credit).
struct log_batch {
  int64_t step = 0;
  int64_t epoch = 0;
  metric_values metrics;
  std::vector<std::string> lines;
  progress_info progress;
};

inline bool operator==(const log_batch& x, const log_batch& y) {
  return x.step == y.step && x.epoch == y.epoch && x.metrics == y.metrics
    && x.lines == y.lines && x.progress == y.progress;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_batch& x) {
  return f(caf::meta::type_name("log_batch"), x.step, x.epoch, x.metrics,
           x.lines, x.progress);
}

/// Last message to the logger: flush and close every sink, write
/// summary.json. The logger answers with the report, `last` filled in.
struct log_finish {
  fit_report report;
};

inline bool operator==(const log_finish& x, const log_finish& y) {
  return x.report == y.report;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_finish& x) {
  return f(caf::meta::type_name("log_finish"), x.report);
}

} // namespace troupe
