#pragma once

// What each optimizer step logs, before callbacks add their metrics: the one
// rule the coordinator applies live and `troupe-trace render` applies
// offline to a recorded run, so both write the same records.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "troupe/core/train/reducers.hpp"
#include "troupe/messages/step.hpp"

namespace troupe::core {

struct step_log {
  /// What to log at this step, in order: training windows and `lr` (at log
  /// steps), validation, epoch aggregates.
  metric_values records;
  /// The step's values reduced over every micro-batch of every replica,
  /// and each replica's own (`train/...`), for the events.
  metric_values train;
  std::vector<metric_values> per_replica;
  /// `val/...` when a validation ran after this step.
  std::optional<metric_values> validation;
  /// `train/..._epoch` when the step closes an epoch.
  std::optional<metric_values> epoch;
};

class metric_book {
public:
  metric_book() = default;

  /// `count_skipped`: log train/skipped_steps (the steps skipped so far) at
  /// every log step.
  metric_book(std::map<std::string, reduction_spec> reduce, int64_t log_every,
              bool count_skipped = false);

  /// Adds optimizer step `s`; `validation` holds the reduced validation sums
  /// when one ran after it. A skipped step (s.skipped) feeds no window and
  /// no epoch sum, and gives the events no values.
  step_log add_step(const step_summary& s, const metric_sums* validation,
                    bool epoch_end);

  /// The `test/...` records of the final evaluation.
  static metric_values test(const metric_sums& reduced);

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, metric_book& x) {
    return f(caf::meta::type_name("metric_book"), x.windows_, x.epoch_sums_,
             x.log_every_, x.count_skipped_, x.skipped_);
  }

private:
  metric_windows windows_;
  metric_sums epoch_sums_;
  int64_t log_every_ = 1;
  bool count_skipped_ = false;
  int64_t skipped_ = 0;
};

} // namespace troupe::core
