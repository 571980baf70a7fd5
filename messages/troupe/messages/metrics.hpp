#pragma once

#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace troupe {

/// A metric accumulated over samples: `sum` is the sample-weighted sum of the
/// values (value times samples) and `weight` the number of samples, so that
/// reductions over micro-batches and replicas stay exact: value = sum / weight.
struct metric_sum {
  std::string name;
  double sum = 0;
  double weight = 0;
};

inline bool operator==(const metric_sum& x, const metric_sum& y) {
  return x.name == y.name && x.sum == y.sum && x.weight == y.weight;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metric_sum& x) {
  return f(caf::meta::type_name("metric_sum"), x.name, x.sum, x.weight);
}

/// A named scalar, as logged or handed to a callback.
struct metric_value {
  std::string name;
  double value = 0;
};

inline bool operator==(const metric_value& x, const metric_value& y) {
  return x.name == y.name && x.value == y.value;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metric_value& x) {
  return f(caf::meta::type_name("metric_value"), x.name, x.value);
}

using metric_sums = std::vector<metric_sum>;
using metric_values = std::vector<metric_value>;

} // namespace troupe
