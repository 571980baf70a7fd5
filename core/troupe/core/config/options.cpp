#include "troupe/core/config/options.hpp"

#include <array>
#include <optional>

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

const std::vector<std::string>& known_optimizers() {
  static const std::vector<std::string> names{"sgd", "adam", "adamw",
                                              "rmsprop"};
  return names;
}

const std::vector<std::string>& known_lr_schedules() {
  static const std::vector<std::string> names{"constant", "cosine", "linear",
                                              "step"};
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

void add_json(json_object& j, const char* key, const std::optional<double>& x) {
  if (x)
    j.add(key, *x);
  else
    j.add_raw(key, "null");
}

void add_json(json_object& j, const char* key,
              const std::optional<std::array<double, 2>>& x) {
  if (!x)
    j.add_raw(key, "null");
  else
    j.add_raw(key,
              "[" + json_number((*x)[0]) + ", " + json_number((*x)[1]) + "]");
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

std::string text(const std::optional<double>& x) {
  return x ? fmt::format("{}", *x) : std::string{};
}

std::string text(const std::optional<std::array<double, 2>>& x) {
  return x ? fmt::format("{},{}", (*x)[0], (*x)[1]) : std::string{};
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
  // Options the chosen optimizer does not have are refused, not ignored.
  const auto& opt = o.optimizer;
  bool sgd = opt == "sgd";
  bool adam = opt == "adam" || opt == "adamw";
  if (o.momentum && !sgd && opt != "rmsprop")
    throw config_error("momentum", "applies to sgd and rmsprop, not " + opt);
  if (o.betas && !adam)
    throw config_error("betas", "applies to adam and adamw, not " + opt);
  if (o.eps && sgd)
    throw config_error("eps", "applies to adam, adamw and rmsprop, not sgd");
  if (o.nesterov && !sgd)
    throw config_error("nesterov", "applies to sgd, not " + opt);
  auto effective = with_optimizer_defaults(o);
  if (o.nesterov && !(effective.momentum && *effective.momentum > 0))
    throw config_error("nesterov", "needs --momentum above 0");
  auto lr = effective.lr;
  if (lr && o.min_lr > *lr)
    throw config_error("min-lr",
                       fmt::format("must not exceed --lr ({}), got {}", *lr,
                                   o.min_lr));
  if (!o.resume.empty() && o.overwrite)
    throw config_error("resume",
                       "continues the run of --run-dir, which "
                       "--overwrite=true would remove");
  if (o.resume == "last" && o.checkpoint_dir == "none")
    throw config_error("resume",
                       "last needs checkpoints, and "
                       "--checkpoint-dir is none");
}

trainer_options with_optimizer_defaults(trainer_options o) {
  const auto& opt = o.optimizer;
  auto fill = [](std::optional<double>& x, double value) {
    if (!x)
      x = value;
  };
  // LibTorch 1.13's defaults (torch/optim/*.h), except SGD's: LibTorch
  // has no learning rate for it and no momentum; troupe's SGD is lr 0.02
  // with momentum 0.9, as it always was.
  if (opt == "sgd") {
    fill(o.lr, 0.02);
    fill(o.momentum, 0.9);
    fill(o.weight_decay, 0);
  } else if (opt == "adam" || opt == "adamw") {
    fill(o.lr, 1e-3);
    fill(o.weight_decay, opt == "adamw" ? 1e-2 : 0);
    fill(o.eps, 1e-8);
    if (!o.betas)
      o.betas = std::array<double, 2>{0.9, 0.999};
  } else if (opt == "rmsprop") {
    fill(o.lr, 1e-2);
    fill(o.momentum, 0);
    fill(o.weight_decay, 0);
    fill(o.eps, 1e-8);
  }
  return o;
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
