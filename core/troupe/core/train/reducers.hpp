#pragma once

// Metric reduction: over micro-batches and replicas within one optimizer step
// (sample-weighted sums, rank order), and over the steps of a logging window.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "troupe/messages/metrics.hpp"

namespace troupe::core {

/// How a training metric's logged value reduces the window of optimizer steps
/// since the previous logged point.
struct reduction_spec {
  enum kind_t { mean, sum, last, min, max, ema };
  kind_t kind = mean;
  double alpha = 0; ///< only for ema, in (0, 1]
};

bool operator==(const reduction_spec& x, const reduction_spec& y);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reduction_spec& x) {
  return f(caf::meta::type_name("reduction_spec"), x.kind, x.alpha);
}

/// Parses `mean`, `sum`, `last`, `min`, `max` or `ema:ALPHA`; throws
/// config_error naming `field`.
reduction_spec parse_reduction(const std::string& text,
                               const std::string& field = "reduce");

/// Parses `NAME=SPEC[,NAME=SPEC...]`; throws config_error naming `field`.
std::map<std::string, reduction_spec>
parse_reductions(const std::string& text, const std::string& field = "reduce");

std::string to_string(const reduction_spec& x);

/// Adds `y` into `x` by name, keeping the order of first appearance.
void accumulate(metric_sums& x, const metric_sums& y);

/// Reduces per-replica sums in rank order (the order of `per_rank`), so the
/// result does not depend on arrival order.
metric_sums reduce_in_rank_order(const std::vector<metric_sums>& per_rank);

/// Turns sums into values (sum / weight); a zero weight gives NaN.
metric_values to_values(const metric_sums& xs, const std::string& prefix = "",
                        const std::string& suffix = "");

/// Reduces one metric over the optimizer steps of a logging window.
/// `add` takes the step's reduced value and its sample-weighted sum/weight;
/// `reset` starts the next window (an EMA keeps its state across windows).
class window_reducer {
public:
  explicit window_reducer(reduction_spec spec = {});

  void add(double sum, double weight);

  bool empty() const noexcept {
    return steps_ == 0;
  }

  double value() const;

  void reset();

  template <class Inspector>
  friend typename Inspector::result_type
  inspect(Inspector& f, window_reducer& x) {
    return f(caf::meta::type_name("window_reducer"), x.spec_, x.steps_, x.sum_,
             x.weight_, x.acc_, x.ema_started_);
  }

private:
  reduction_spec spec_;
  int64_t steps_ = 0;
  double sum_ = 0;
  double weight_ = 0;
  double acc_ = 0; ///< sum, last, min, max or ema
  bool ema_started_ = false;
};

/// The training metrics' windows, by name, in order of first appearance.
class metric_windows {
public:
  metric_windows() = default;

  explicit metric_windows(std::map<std::string, reduction_spec> specs);

  /// Adds one optimizer step's reduced sums, names prefixed by `prefix`.
  void add_step(const metric_sums& step, const std::string& prefix);

  /// The window values of every metric seen since the last flush, then a
  /// new window starts.
  metric_values flush();

  template <class Inspector>
  friend typename Inspector::result_type
  inspect(Inspector& f, metric_windows& x) {
    return f(caf::meta::type_name("metric_windows"), x.specs_, x.order_,
             x.windows_);
  }

private:
  std::map<std::string, reduction_spec> specs_;
  std::vector<std::string> order_;
  std::map<std::string, window_reducer> windows_;
};

} // namespace troupe::core
