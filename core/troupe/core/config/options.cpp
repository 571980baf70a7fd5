#include "troupe/core/config/options.hpp"

#include <fmt/format.h>

#include "troupe/core/config/option_table.hpp"
#include "troupe/core/data/augment.hpp"
#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/json.hpp"

namespace troupe::core {

const std::vector<std::string>& known_loggers() {
  static const std::vector<std::string> names{"console", "csv", "jsonl",
                                              "tensorboard"};
  return names;
}

std::string option_checks::device(const std::string& spec) {
  if (spec == "cpu")
    return {};
  auto bad = fmt::format("expected cpu or cuda:N (N from 0 to 1023), got '{}'",
                         spec);
  if (spec.rfind("cuda:", 0) != 0)
    return bad;
  auto n = spec.substr(5);
  if (n.empty() || n.size() > 4
      || n.find_first_not_of("0123456789") != std::string::npos
      || std::stoi(n) > 1023)
    return bad;
  return {};
}

std::string
option_checks::reductions(const std::map<std::string, reduction_spec>& xs) {
  // Which metrics a window reduces, and alphas of specs set in code (the
  // parser checks those it reads).
  for (const auto& [name, spec] : xs) {
    if (name.rfind("train/", 0) != 0 || name.size() <= 6)
      return fmt::format("'{}' is not a training metric: windows reduce "
                         "train/NAME metrics (e.g. train/loss)",
                         name);
    if (spec.kind == reduction_spec::ema
        && !(spec.alpha > 0 && spec.alpha <= 1))
      return fmt::format("ema alpha of '{}' must be in (0, 1]", name);
  }
  return {};
}

std::string option_checks::augment(const std::string& spec) {
  parse_augment(spec);
  return {};
}

namespace {

// -- values as config.json writes them ----------------------------------------

void add_json(json_object& j, const char* key, int64_t x) {
  j.add(key, x);
}

void add_json(json_object& j, const char* key, uint64_t x) {
  j.add(key, x);
}

void add_json(json_object& j, const char* key, double x) {
  j.add(key, x);
}

void add_json(json_object& j, const char* key, bool x) {
  j.add(key, x);
}

void add_json(json_object& j, const char* key, const std::string& x) {
  j.add(key, x);
}

void add_json(json_object& j, const char* key, trace_tensors x) {
  j.add(key, to_string(x));
}

void add_json(json_object& j, const char* key,
              const std::vector<std::string>& xs) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i)
    out += (i > 0 ? ", " : "") + json_quote(xs[i]);
  j.add_raw(key, out + "]");
}

void add_json(json_object& j, const char* key,
              const std::map<std::string, reduction_spec>& xs) {
  std::string out = "{";
  for (const auto& [name, spec] : xs)
    out += (out.size() > 1 ? ", " : "") + json_quote(name) + ": "
      + json_quote(to_string(spec));
  j.add_raw(key, out + "}");
}

// -- values as describe() prints them -----------------------------------------

template <class T>
std::string text(const T& x) {
  return fmt::format("{}", x);
}

std::string text(const std::string& x) {
  return x;
}

std::string text(trace_tensors x) {
  return to_string(x);
}

std::string text(const std::vector<std::string>& xs) {
  return fmt::format("{}", fmt::join(xs, ","));
}

std::string text(const std::map<std::string, reduction_spec>& xs) {
  std::string out;
  for (const auto& [name, spec] : xs)
    out += (out.empty() ? "" : ",") + name + "=" + to_string(spec);
  return out;
}

} // namespace

void validate(const trainer_options& o) {
  for_each_option(o, [](const auto& info, const auto& value) {
    if (!info.check)
      return;
    if (auto what = info.check(value); !what.empty())
      throw config_error(info.flag, what);
  });
}

std::string to_json(const trainer_options& o) {
  json_object j;
  for_each_option(o, [&j](const auto& info, const auto& value) {
    add_json(j, info.key, value);
  });
  return j.str();
}

std::vector<std::string> describe(const trainer_options& o) {
  std::vector<std::string> out;
  for_each_option(o, [&out](const auto& info, const auto& value) {
    auto shown = text(value);
    if (shown.empty() && info.if_empty != nullptr)
      shown = info.if_empty;
    out.push_back(fmt::format("{:<19} = {}", info.flag, shown));
  });
  return out;
}

} // namespace troupe::core
