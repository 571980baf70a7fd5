#pragma once

// Protocol coordinator <-> callback_host.
//
// Event order, per fit (tested in tests/actors):
//   fit_start_event
//   for every optimizer step s:
//     train_step_end_event(s)
//     validation_end_event(s)   if a validation ran after update s
//     epoch_end_event(s)        if s is the last step of an epoch
//   validation_end_event       no; the final test evaluation is in fit_end
//   fit_end_event(last step)
// Each event is answered with `callback_effects`. Metrics in the effects are
// logged at the event's step. A stop requested in answer to any event of step
// s makes s + 1 the last step (or s, when s is already the last scheduled).

#include <cstdint>
#include <string>
#include <vector>

#include "troupe/messages/metrics.hpp"
#include "troupe/messages/step.hpp"

namespace troupe {

struct fit_start_event {
  int64_t total_steps = 0;
  int64_t steps_per_epoch = 0;
  int64_t max_epochs = 0;
};

inline bool operator==(const fit_start_event& x, const fit_start_event& y) {
  return x.total_steps == y.total_steps
    && x.steps_per_epoch == y.steps_per_epoch && x.max_epochs == y.max_epochs;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fit_start_event& x) {
  return f(caf::meta::type_name("fit_start_event"), x.total_steps,
           x.steps_per_epoch, x.max_epochs);
}

/// After update `step`: the step's outputs reduced over every micro-batch of
/// every replica, and each replica's own. `log_step` tells whether training
/// metrics are written at this step.
struct train_step_end_event {
  int64_t epoch = 0;
  int64_t step = 0;
  double lr = 0;
  bool log_step = false;
  metric_values reduced;
  std::vector<metric_values> per_replica;
};

inline bool operator==(const train_step_end_event& x,
                       const train_step_end_event& y) {
  return x.epoch == y.epoch && x.step == y.step && x.lr == y.lr
    && x.log_step == y.log_step && x.reduced == y.reduced
    && x.per_replica == y.per_replica;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, train_step_end_event& x) {
  return f(caf::meta::type_name("train_step_end_event"), x.epoch, x.step, x.lr,
           x.log_step, x.reduced, x.per_replica);
}

/// A validation run after update `step` (metrics named `val/...`).
struct validation_end_event {
  int64_t epoch = 0;
  int64_t step = 0;
  metric_values metrics;
};

inline bool operator==(const validation_end_event& x,
                       const validation_end_event& y) {
  return x.epoch == y.epoch && x.step == y.step && x.metrics == y.metrics;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, validation_end_event& x) {
  return f(caf::meta::type_name("validation_end_event"), x.epoch, x.step,
           x.metrics);
}

/// Epoch `epoch` (0-based) ended at update `step`; `metrics` are the epoch
/// aggregates (`train/loss_epoch`, ...).
struct epoch_end_event {
  int64_t epoch = 0;
  int64_t step = 0;
  metric_values metrics;
};

inline bool operator==(const epoch_end_event& x, const epoch_end_event& y) {
  return x.epoch == y.epoch && x.step == y.step && x.metrics == y.metrics;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, epoch_end_event& x) {
  return f(caf::meta::type_name("epoch_end_event"), x.epoch, x.step, x.metrics);
}

/// The fit ended at update `step`; `metrics` holds the test results.
struct fit_end_event {
  int64_t step = 0;
  fit_status status = fit_status::completed;
  metric_values metrics;
};

inline bool operator==(const fit_end_event& x, const fit_end_event& y) {
  return x.step == y.step && x.status == y.status && x.metrics == y.metrics;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fit_end_event& x) {
  detail::status_word status{x.status};
  return f(caf::meta::type_name("fit_end_event"), x.step, status.word,
           status.load(), x.metrics);
}

/// A callback's answer to an event: metrics to log at the event's step, and
/// optionally a stop request. `error` is set by the host when the callback
/// threw; the coordinator then fails the fit naming callback and event.
struct callback_effects {
  metric_values metrics;
  bool stop = false;
  std::string reason;
  std::string error;
  /// Text for the console (above the progress line) and console.log, one
  /// line each ('\n' inside splits a line), in order, at the event's step.
  std::vector<std::string> lines;
};

inline bool operator==(const callback_effects& x, const callback_effects& y) {
  return x.metrics == y.metrics && x.stop == y.stop && x.reason == y.reason
    && x.error == y.error && x.lines == y.lines;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, callback_effects& x) {
  return f(caf::meta::type_name("callback_effects"), x.metrics, x.stop,
           x.reason, x.error, x.lines);
}

} // namespace troupe
