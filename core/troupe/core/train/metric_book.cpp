#include "troupe/core/train/metric_book.hpp"

namespace troupe::core {

metric_book::metric_book(std::map<std::string, reduction_spec> reduce,
                         int64_t log_every, bool count_skipped)
    : windows_(std::move(reduce)), log_every_(log_every),
      count_skipped_(count_skipped) {
  // nop
}

step_log metric_book::add_step(const step_summary& s,
                               const metric_sums* validation, bool epoch_end) {
  step_log out;
  // Every step that was applied feeds the windows; they are written at
  // log steps only.
  if (s.skipped) {
    ++skipped_;
  } else {
    windows_.add_step(s.reduced, "train/");
    accumulate(epoch_sums_, s.reduced);
    out.train = to_values(s.reduced, "train/");
    for (const auto& r : s.per_replica)
      out.per_replica.push_back(to_values(r, "train/"));
  }
  if (s.step % log_every_ == 0) {
    out.records = windows_.flush();
    out.records.push_back({"lr", s.lr});
    if (count_skipped_)
      out.records.push_back(
        {"train/skipped_steps", static_cast<double>(skipped_)});
  }
  if (validation != nullptr) {
    out.validation = to_values(*validation, "val/");
    for (const auto& m : *out.validation)
      out.records.push_back(m);
  }
  if (epoch_end) {
    out.epoch = to_values(epoch_sums_, "train/", "_epoch");
    epoch_sums_.clear();
    for (const auto& m : *out.epoch)
      out.records.push_back(m);
  }
  return out;
}

metric_values metric_book::test(const metric_sums& reduced) {
  return to_values(reduced, "test/");
}

} // namespace troupe::core
