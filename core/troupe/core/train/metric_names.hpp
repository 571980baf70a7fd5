#pragma once

// What a metric name may be. Names come from the model's step function and
// from callbacks and end up in every sink (CSV headers, JSON, TensorBoard
// tags, the HTML report, summary.json), so they are checked once, where
// they enter the fit, and the fit fails naming the metric and its producer
// instead of writing a file its format cannot hold.
//
// A name is 1 to 256 bytes of valid UTF-8 without control characters
// (U+0000-U+001F, U+007F); anything else (commas, quotes, spaces, '/', any
// script) is data that each sink escapes. The keys summary.json holds of
// its own (status, error, global_step, ...) are not metric names.

#include <string>
#include <vector>

namespace troupe::core {

/// What is wrong with `name` as a logged metric name, "" when nothing.
std::string metric_name_problem(const std::string& name);

/// The keys of summary.json that are not metrics.
const std::vector<std::string>& reserved_summary_keys();

} // namespace troupe::core
