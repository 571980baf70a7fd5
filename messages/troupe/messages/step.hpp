#pragma once

// Protocol aggregator/steppers -> coordinator, and the fit's final report.

#include <cstdint>
#include <string>
#include <vector>

#include "troupe/messages/metrics.hpp"

namespace troupe {

/// Aggregator -> coordinator: optimizer step `step` is reduced. `reduced` holds
/// the sums over every micro-batch of every replica (rank order);
/// `per_replica[r]` the sums of replica r alone.
struct step_summary {
  int64_t epoch = 0;
  int64_t step = 0;
  int64_t samples = 0;
  double lr = 0;
  metric_sums reduced;
  std::vector<metric_sums> per_replica;
};

inline bool operator==(const step_summary& x, const step_summary& y) {
  return x.epoch == y.epoch && x.step == y.step && x.samples == y.samples
         && x.lr == y.lr && x.reduced == y.reduced
         && x.per_replica == y.per_replica;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_summary& x) {
  return f(caf::meta::type_name("step_summary"), x.epoch, x.step, x.samples,
           x.lr, x.reduced, x.per_replica);
}

/// Which data set an evaluation runs on: 0 = validation, 1 = test.
enum class eval_kind : int32_t { validation = 0, test = 1 };

/// Coordinator -> stepper: evaluate on `kind` after update `step`. Validation
/// at scheduled steps needs no request (the schedule is known to every
/// stepper); the final test evaluation does.
struct eval_request {
  int32_t kind = 0;
  int64_t step = 0;
};

inline bool operator==(const eval_request& x, const eval_request& y) {
  return x.kind == y.kind && x.step == y.step;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, eval_request& x) {
  return f(caf::meta::type_name("eval_request"), x.kind, x.step);
}

/// Stepper -> aggregator: replica `rank`'s share of an evaluation, with a
/// digest of its parameters (replicas must stay bit-identical).
struct eval_contribution {
  int32_t kind = 0;
  int64_t step = 0;
  int32_t rank = 0;
  uint64_t param_digest = 0;
  metric_sums outputs;
};

inline bool operator==(const eval_contribution& x, const eval_contribution& y) {
  return x.kind == y.kind && x.step == y.step && x.rank == y.rank
         && x.param_digest == y.param_digest && x.outputs == y.outputs;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, eval_contribution& x) {
  return f(caf::meta::type_name("eval_contribution"), x.kind, x.step, x.rank,
           x.param_digest, x.outputs);
}

/// Aggregator -> coordinator: an evaluation reduced over replicas.
struct eval_summary {
  int32_t kind = 0;
  int64_t step = 0;
  metric_sums reduced;
  std::vector<uint64_t> param_digests;
};

inline bool operator==(const eval_summary& x, const eval_summary& y) {
  return x.kind == y.kind && x.step == y.step && x.reduced == y.reduced
         && x.param_digests == y.param_digests;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, eval_summary& x) {
  return f(caf::meta::type_name("eval_summary"), x.kind, x.step, x.reduced,
           x.param_digests);
}

/// Any pipeline actor -> coordinator: something went wrong that ends the fit.
struct actor_failure {
  std::string actor;
  int64_t step = 0;
  std::string what;
};

inline bool operator==(const actor_failure& x, const actor_failure& y) {
  return x.actor == y.actor && x.step == y.step && x.what == y.what;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_failure& x) {
  return f(caf::meta::type_name("actor_failure"), x.actor, x.step, x.what);
}

/// Coordinator -> trainer (and logger): how the fit ended.
struct fit_report {
  std::string status; ///< completed, failed or stopped
  std::string error;
  int64_t global_step = 0;
  int64_t epochs = 0; ///< completed epochs
  int64_t samples = 0; ///< training samples consumed
  metric_values last; ///< filled by the logger: last value of every metric
  double wall_seconds = 0;
  /// Filled by the logger: one line per sink that failed and was dropped.
  std::vector<std::string> sink_errors;
  /// Most log batches ever in flight to the logger (bounded by credits).
  int64_t peak_log_queue = 0;
  /// Stopped by SIGINT or SIGTERM (status "stopped").
  bool interrupted = false;
};

inline bool operator==(const fit_report& x, const fit_report& y) {
  return x.status == y.status && x.error == y.error
         && x.global_step == y.global_step && x.epochs == y.epochs
         && x.samples == y.samples && x.last == y.last
         && x.wall_seconds == y.wall_seconds && x.sink_errors == y.sink_errors
         && x.peak_log_queue == y.peak_log_queue
         && x.interrupted == y.interrupted;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fit_report& x) {
  return f(caf::meta::type_name("fit_report"), x.status, x.error,
           x.global_step, x.epochs, x.samples, x.last, x.wall_seconds,
           x.sink_errors, x.peak_log_queue, x.interrupted);
}

} // namespace troupe
