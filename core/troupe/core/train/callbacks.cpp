#include "troupe/core/train/callback.hpp"

#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace troupe::core {

callback::~callback() = default;

callback_effects callback::on_fit_start(const fit_start_event&) {
  return {};
}

callback_effects callback::on_train_step_end(const train_step_end_event&) {
  return {};
}

callback_effects callback::on_validation_end(const validation_end_event&) {
  return {};
}

callback_effects callback::on_epoch_end(const epoch_end_event&) {
  return {};
}

callback_effects callback::on_fit_end(const fit_end_event&) {
  return {};
}

std::string callback::save_state() const {
  return {};
}

void callback::load_state(const std::string& state) {
  if (!state.empty())
    throw std::invalid_argument(
      fmt::format("callback '{}' has no load_state, and the checkpoint holds "
                  "a state of {} bytes for it",
                  name(), state.size()));
}

namespace {

/// States as words: integers, and doubles in hexadecimal (exact).
std::string hex(double x) {
  return fmt::format("{:a}", x);
}

std::vector<double> numbers(const std::string& state, size_t count,
                            const std::string& who) {
  std::vector<double> out;
  const char* p = state.c_str();
  while (*p != 0) {
    char* end = nullptr;
    out.push_back(std::strtod(p, &end));
    if (end == p)
      break;
    p = end;
    while (*p == ' ')
      ++p;
  }
  if (out.size() != count || *p != 0)
    throw std::invalid_argument(fmt::format("callback '{}': a saved state of "
                                            "{} numbers expected, got '{}'",
                                            who, count, state));
  return out;
}

} // namespace

// -- early stopping -----------------------------------------------------------

early_stopping::early_stopping(std::string monitor, int patience,
                               double min_delta, bool maximize)
    : monitor_(std::move(monitor)), patience_(patience), min_delta_(min_delta),
      maximize_(maximize) {
  if (patience_ < 1)
    throw std::invalid_argument(fmt::format(
      "early_stopping: patience must be at least 1, got {}", patience_));
  if (!std::isfinite(min_delta_) || min_delta_ < 0)
    throw std::invalid_argument(fmt::format(
      "early_stopping: min_delta must be finite and >= 0, got {}", min_delta_));
}

std::string early_stopping::name() const {
  return "early_stopping(" + monitor_ + ")";
}

callback_effects
early_stopping::on_validation_end(const validation_end_event& e) {
  callback_effects result;
  bool seen = false;
  for (const auto& m : e.metrics) {
    if (m.name != monitor_)
      continue;
    seen = true;
    bool better = !have_best_
      || (maximize_ ? m.value > best_ + min_delta_
                    : m.value < best_ - min_delta_);
    if (better && std::isfinite(m.value)) {
      best_ = m.value;
      have_best_ = true;
      bad_ = 0;
    } else if (++bad_ >= patience_) {
      result.stop = true;
      result.reason = fmt::format("{} did not improve on {} for {} "
                                  "validations",
                                  monitor_, best_, bad_);
    }
  }
  if (!seen) {
    std::string names;
    for (const auto& m : e.metrics)
      names += (names.empty() ? "" : ", ") + m.name;
    result.error = fmt::format("early stopping monitors '{}', which the "
                               "validation at step {} does not have (it has "
                               "{})",
                               monitor_, e.step, names);
  }
  return result;
}

std::string early_stopping::save_state() const {
  return fmt::format("{} {} {}", have_best_ ? 1 : 0, hex(best_), bad_);
}

void early_stopping::load_state(const std::string& state) {
  auto xs = numbers(state, 3, name());
  have_best_ = xs[0] != 0;
  best_ = xs[1];
  bad_ = static_cast<int>(xs[2]);
}

// -- learning-rate monitor ----------------------------------------------------

lr_monitor::lr_monitor(std::string optimizer) : metric_("lr-" + optimizer) {
  // nop
}

std::string lr_monitor::name() const {
  return "lr_monitor";
}

callback_effects lr_monitor::on_train_step_end(const train_step_end_event& e) {
  callback_effects result;
  if (e.log_step)
    result.metrics.push_back({metric_, e.lr});
  return result;
}

// -- EMA of a metric ----------------------------------------------------------

ema_metric::ema_metric(double alpha, std::string metric)
    : alpha_(alpha), metric_(std::move(metric)) {
  if (!(alpha_ > 0 && alpha_ <= 1))
    throw std::invalid_argument(
      fmt::format("ema_metric: alpha must be in (0, 1], got {}", alpha_));
}

std::string ema_metric::name() const {
  return "ema(" + metric_ + ")";
}

callback_effects ema_metric::on_train_step_end(const train_step_end_event& e) {
  callback_effects result;
  for (const auto& m : e.reduced) {
    if (m.name != metric_)
      continue;
    value_ = started_ ? alpha_ * m.value + (1 - alpha_) * value_ : m.value;
    started_ = true;
  }
  if (e.log_step && started_)
    result.metrics.push_back({metric_ + "_ema", value_});
  return result;
}

std::string ema_metric::save_state() const {
  return fmt::format("{} {}", started_ ? 1 : 0, hex(value_));
}

void ema_metric::load_state(const std::string& state) {
  auto xs = numbers(state, 2, name());
  started_ = xs[0] != 0;
  value_ = xs[1];
}

} // namespace troupe::core
