#include "troupe/core/train/reducers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "troupe/core/util/errors.hpp"

namespace troupe::core {

bool operator==(const reduction_spec& x, const reduction_spec& y) {
  return x.kind == y.kind && x.alpha == y.alpha;
}

reduction_spec parse_reduction(const std::string& text,
                               const std::string& field) {
  reduction_spec result;
  if (text == "mean") {
    result.kind = reduction_spec::mean;
  } else if (text == "sum") {
    result.kind = reduction_spec::sum;
  } else if (text == "last") {
    result.kind = reduction_spec::last;
  } else if (text == "min") {
    result.kind = reduction_spec::min;
  } else if (text == "max") {
    result.kind = reduction_spec::max;
  } else if (text.rfind("ema:", 0) == 0) {
    result.kind = reduction_spec::ema;
    auto arg = text.substr(4);
    size_t used = 0;
    double alpha = 0;
    try {
      alpha = std::stod(arg, &used);
    } catch (...) {
      used = 0;
    }
    if (arg.empty() || used != arg.size() || !(alpha > 0 && alpha <= 1))
      throw config_error(field,
                         "ema needs an ALPHA in (0, 1], got '" + text + "'");
    result.alpha = alpha;
  } else {
    throw config_error(field,
                       "unknown reduction '" + text
                         + "' (expected mean, sum, last, min, max "
                           "or ema:ALPHA)");
  }
  return result;
}

std::map<std::string, reduction_spec>
parse_reductions(const std::string& text, const std::string& field) {
  std::map<std::string, reduction_spec> result;
  size_t pos = 0;
  while (pos <= text.size() && !text.empty()) {
    auto end = text.find(',', pos);
    if (end == std::string::npos)
      end = text.size();
    auto item = text.substr(pos, end - pos);
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw config_error(field, "expected NAME=SPEC, got '" + item + "'");
    result[item.substr(0, eq)] = parse_reduction(item.substr(eq + 1), field);
    pos = end + 1;
  }
  return result;
}

std::string to_string(const reduction_spec& x) {
  switch (x.kind) {
    case reduction_spec::mean:
      return "mean";
    case reduction_spec::sum:
      return "sum";
    case reduction_spec::last:
      return "last";
    case reduction_spec::min:
      return "min";
    case reduction_spec::max:
      return "max";
    default: {
      // Shortest text that parses back to the same alpha.
      char buf[32];
      for (int prec = 1; prec <= 17; ++prec) {
        std::snprintf(buf, sizeof(buf), "%.*g", prec, x.alpha);
        if (std::stod(buf) == x.alpha)
          break;
      }
      return std::string{"ema:"} + buf;
    }
  }
}

void accumulate(metric_sums& x, const metric_sums& y) {
  for (const auto& m : y) {
    auto i = std::find_if(x.begin(), x.end(), [&](const metric_sum& a) {
      return a.name == m.name;
    });
    if (i == x.end()) {
      x.push_back(m);
    } else {
      i->sum += m.sum;
      i->weight += m.weight;
    }
  }
}

metric_sums reduce_in_rank_order(const std::vector<metric_sums>& per_rank) {
  metric_sums result;
  for (const auto& xs : per_rank)
    accumulate(result, xs);
  return result;
}

metric_values to_values(const metric_sums& xs, const std::string& prefix,
                        const std::string& suffix) {
  metric_values result;
  result.reserve(xs.size());
  for (const auto& x : xs)
    result.push_back({prefix + x.name + suffix,
                      x.weight > 0 ? x.sum / x.weight
                                   : std::numeric_limits<double>::quiet_NaN()});
  return result;
}

window_reducer::window_reducer(reduction_spec spec) : spec_(spec) {
  // nop
}

void window_reducer::add(double sum, double weight) {
  double x = weight > 0 ? sum / weight
                        : std::numeric_limits<double>::quiet_NaN();
  sum_ += sum;
  weight_ += weight;
  switch (spec_.kind) {
    case reduction_spec::mean:
      break;
    case reduction_spec::sum:
      acc_ = steps_ == 0 ? x : acc_ + x;
      break;
    case reduction_spec::last:
      acc_ = x;
      break;
    case reduction_spec::min:
      acc_ = steps_ == 0 ? x : std::min(acc_, x);
      break;
    case reduction_spec::max:
      acc_ = steps_ == 0 ? x : std::max(acc_, x);
      break;
    case reduction_spec::ema:
      acc_ = ema_started_ ? spec_.alpha * x + (1 - spec_.alpha) * acc_ : x;
      ema_started_ = true;
      break;
  }
  ++steps_;
}

double window_reducer::value() const {
  if (spec_.kind == reduction_spec::mean)
    return weight_ > 0 ? sum_ / weight_
                       : std::numeric_limits<double>::quiet_NaN();
  return acc_;
}

void window_reducer::reset() {
  steps_ = 0;
  sum_ = 0;
  weight_ = 0;
  if (spec_.kind != reduction_spec::ema)
    acc_ = 0;
}

metric_windows::metric_windows(std::map<std::string, reduction_spec> specs)
    : specs_(std::move(specs)) {
  // nop
}

void metric_windows::add_step(const metric_sums& step,
                              const std::string& prefix) {
  for (const auto& m : step) {
    auto name = prefix + m.name;
    auto i = windows_.find(name);
    if (i == windows_.end()) {
      auto s = specs_.find(name);
      i = windows_
            .emplace(name,
                     window_reducer{s != specs_.end() ? s->second
                                                      : reduction_spec{}})
            .first;
      order_.push_back(name);
    }
    i->second.add(m.sum, m.weight);
  }
}

metric_values metric_windows::flush() {
  metric_values result;
  for (const auto& name : order_) {
    auto& w = windows_.at(name);
    if (w.empty())
      continue;
    result.push_back({name, w.value()});
    w.reset();
  }
  return result;
}

} // namespace troupe::core
