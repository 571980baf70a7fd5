#pragma once

// Protocol aggregator/steppers -> coordinator, and the fit's final report.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/sec.hpp>

#include "troupe/messages/metrics.hpp"

namespace troupe {

/// How a fit ended. Written as a word (`completed`, `stopped`, `failed`) in
/// summary.json, the console and traces.
enum class fit_status : int32_t {
  completed, ///< every scheduled step ran
  stopped,   ///< a callback or a signal stopped it early
  failed,    ///< an error ended it
};

inline const char* to_string(fit_status x) {
  switch (x) {
    case fit_status::completed:
      return "completed";
    case fit_status::stopped:
      return "stopped";
    case fit_status::failed:
      return "failed";
  }
  return "?";
}

/// Parses the word `to_string` writes; false for anything else.
inline bool from_string(const std::string& word, fit_status& x) {
  for (auto s :
       {fit_status::completed, fit_status::stopped, fit_status::failed})
    if (word == to_string(s)) {
      x = s;
      return true;
    }
  return false;
}

namespace detail {

/// A fit_status as an inspector sees it: its word, turned back into the
/// value after loading (an unknown word is refused).
struct status_word {
  explicit status_word(fit_status& x) : value(x), word(to_string(x)) {
    // nop
  }

  auto load() {
    return caf::meta::load_callback([this]() -> caf::error {
      if (!from_string(word, value))
        return caf::make_error(caf::sec::invalid_argument,
                               "unknown fit status '" + word + "'");
      return caf::none;
    });
  }

  fit_status& value;
  std::string word;
};

} // namespace detail

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
  /// The step was skipped (a non-finite loss, --on-nonfinite-loss=skip-step):
  /// its update was not applied and its metrics are not logged.
  bool skipped = false;
};

inline bool operator==(const step_summary& x, const step_summary& y) {
  return x.epoch == y.epoch && x.step == y.step && x.samples == y.samples
    && x.lr == y.lr && x.reduced == y.reduced && x.per_replica == y.per_replica
    && x.skipped == y.skipped;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_summary& x) {
  return f(caf::meta::type_name("step_summary"), x.epoch, x.step, x.samples,
           x.lr, x.reduced, x.per_replica, x.skipped);
}

/// Which data set an evaluation runs on (0 and 1 in traces).
enum class eval_kind : int32_t { validation = 0, test = 1 };

inline const char* to_string(eval_kind x) {
  return x == eval_kind::test ? "test" : "validation";
}

/// Coordinator -> stepper: evaluate on `kind` after update `step`. Validation
/// at scheduled steps needs no request (the schedule is known to every
/// stepper); the final test evaluation does.
struct eval_request {
  eval_kind kind = eval_kind::validation;
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
  eval_kind kind = eval_kind::validation;
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
  eval_kind kind = eval_kind::validation;
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
  fit_status status = fit_status::completed;
  std::string error;
  int64_t global_step = 0;
  int64_t epochs = 0;  ///< completed epochs
  int64_t samples = 0; ///< training samples consumed
  metric_values last;  ///< filled by the logger: last value of every metric
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
    && x.peak_log_queue == y.peak_log_queue && x.interrupted == y.interrupted;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fit_report& x) {
  detail::status_word status{x.status};
  return f(caf::meta::type_name("fit_report"), status.word, status.load(),
           x.error, x.global_step, x.epochs, x.samples, x.last, x.wall_seconds,
           x.sink_errors, x.peak_log_queue, x.interrupted);
}

} // namespace troupe
