#pragma once

// The trainer options, declared once. For each field of trainer_options, in
// one fixed order: its command-line flag, its config.json key, its help line
// and the values it accepts (its default is the field's initialiser). The
// parser and --help (add_trainer_options), describe(), to_json() and
// validate() all walk this table, so that they cannot drift apart.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "troupe/core/config/options.hpp"

namespace troupe::core {

/// How one trainer option of type `T` is named and checked.
template <class T>
struct option_info {
  /// Command-line name, without "--"; validation errors name it.
  const char* flag;
  /// Key in config.json.
  const char* key;
  /// One line for --help.
  const char* help;
  /// What is wrong with a value, "" when it is valid (it may also throw a
  /// config_error naming the flag); empty: any value the parser accepts.
  std::function<std::string(const T&)> check = {};
  /// What describe() prints for an empty value; null: the value as it is.
  const char* if_empty = nullptr;
};

/// Checks for option_info::check.
namespace option_checks {

/// "" when `ok`, else the formatted complaint.
template <class... Ts>
std::string unless(bool ok, fmt::format_string<Ts...> what, Ts&&... xs) {
  return ok ? std::string{} : fmt::format(what, std::forward<Ts>(xs)...);
}

/// Integers of at least `min`.
inline std::function<std::string(const int64_t&)> at_least(int64_t min) {
  return [min](const int64_t& x) {
    return unless(x >= min, "must be at least {}, got {}", min, x);
  };
}

/// Lists of items from `words`; `what` names an item in the complaint.
inline std::function<std::string(const std::vector<std::string>&)>
known(std::string what, std::vector<std::string> words) {
  return [what, words](const std::vector<std::string>& xs) {
    for (const auto& x : xs)
      if (std::find(words.begin(), words.end(), x) == words.end())
        return fmt::format("unknown {} '{}' (known: {})", what, x,
                           fmt::join(words, ","));
    return std::string{};
  };
}

/// Lists without repeats; `what` names an item in the complaint.
inline std::function<std::string(const std::vector<std::string>&)>
distinct(std::string what) {
  return [what](const std::vector<std::string>& xs) {
    for (size_t i = 0; i < xs.size(); ++i)
      for (size_t j = i + 1; j < xs.size(); ++j)
        if (xs[i] == xs[j])
          return fmt::format("{} '{}' named twice", what, xs[i]);
    return std::string{};
  };
}

/// `first`, then (when it finds nothing) `second`.
template <class T>
std::function<std::string(const T&)>
both(std::function<std::string(const T&)> first,
     std::function<std::string(const T&)> second) {
  return [first, second](const T& x) {
    auto what = first(x);
    return what.empty() ? second(x) : what;
  };
}

/// Augmentation specs parse_augment accepts (it throws config_error naming
/// --augment for the others).
std::string augment(const std::string& spec);

} // namespace option_checks

namespace detail {

template <class F, class T>
void declare(F& f, T& field, option_info<std::remove_const_t<T>> info) {
  f(info, field);
}

} // namespace detail

/// Calls `f(info, field)` for every field of `o` (a trainer_options, const
/// or not) in one fixed order, that of --help and config.json: `field` is a
/// reference to the field, `info` its option_info.
template <class Options, class F>
void for_each_option(Options& o, F&& f) {
  static_assert(std::is_same_v<std::remove_const_t<Options>, trainer_options>,
                "for_each_option walks a trainer_options");
  using namespace option_checks;
  using detail::declare;
  declare(f, o.replicas,
          {"replicas", "replicas", "data-parallel replicas (one stepper each)",
           at_least(1)});
  declare(f, o.accumulate,
          {"accumulate", "accumulate",
           "micro-batches per replica per optimizer step", at_least(1)});
  declare(f, o.batch_size,
          {"batch-size", "batch_size", "samples per micro-batch (per replica)",
           at_least(1)});
  declare(f, o.lr, {"lr", "lr", "SGD learning rate", [](double x) {
                      return unless(std::isfinite(x) && x > 0,
                                    "must be a positive number, got {}", x);
                    }});
  declare(f, o.momentum, {"momentum", "momentum", "SGD momentum", [](double x) {
                            return unless(std::isfinite(x) && x >= 0 && x < 1,
                                          "must be in [0, 1), got {}", x);
                          }});
  declare(f, o.max_epochs,
          {"max-epochs", "max_epochs", "epochs to train", at_least(1)});
  declare(f, o.max_steps,
          {"max-steps", "max_steps",
           "stop after this many optimizer steps (-1: no limit)",
           [](int64_t x) {
             return unless(x == -1 || x >= 1,
                           "must be -1 (no limit) or at least 1, got {}", x);
           }});
  declare(f, o.val_every_n_steps,
          {"val-every-n-steps", "val_every_n_steps",
           "validate every N steps (0: at epoch ends)", [](int64_t x) {
             return unless(x >= 0, "must be 0 (epoch ends) or positive, got {}",
                           x);
           }});
  declare(f, o.log_every_n_steps,
          {"log-every-n-steps", "log_every_n_steps",
           "write training metrics every N steps", at_least(1)});
  // Which metrics may have a window reduction: see validate().
  declare(f, o.reduce,
          {"reduce", "reduce",
           "window reduction per metric, NAME=SPEC,... with SPEC one of mean, "
           "sum, last, min, max, ema:ALPHA"});
  declare(f, o.seed, {"seed", "seed", "seed of initialisation and data order"});
  declare(f, o.shuffle,
          {"shuffle", "shuffle",
           "shuffle the training set each epoch (true/false)"});
  declare(f, o.run_dir,
          {"run-dir", "run_dir",
           "output directory (default runs/<launcher>/version_<N>)"});
  declare(f, o.overwrite,
          {"overwrite", "overwrite",
           "allow a run directory that already holds metrics"});
  declare(f, o.loggers,
          {"loggers", "loggers",
           "comma list of sinks: console, csv, jsonl, tensorboard",
           both(known("logger", known_loggers()), distinct("logger"))});
  declare(f, o.report,
          {"report", "report",
           "write <run-dir>/report.html at the end (true/false)"});
  declare(f, o.augment,
          {"augment", "augment",
           "training augmentation done by the loader: none, or rotate:D, "
           "crop:P, flip joined by '+'",
           option_checks::augment, "none"});
  declare(f, o.trace,
          {"trace", "trace",
           "record inbound messages of these actors to <run-dir>/trace: "
           "coordinator, logger, aggregator, loader, stepper, callback or all",
           known("actor",
                 {"all", "coordinator", "logger", "aggregator", "loader",
                  "stepper", "callback"})});
  declare(f, o.trace_tensors,
          {"trace-tensors", "trace_tensors",
           "how traces record gradients: full (by value, replayable) or "
           "digest (shape, dtype, 64-bit digest)"});
  declare(f, o.scheduler_threads,
          {"scheduler-threads", "scheduler_threads",
           "actor system worker threads (0: one per core)", [](int64_t x) {
             return unless(x >= 0,
                           "must be 0 (one per core) or positive, got {}", x);
           }});
  declare(f, o.export_params,
          {"export-params", "export_params",
           "directory for params_init.pt and params_final.pt (torch::save)"});
  declare(f, o.device,
          {"device", "device", "device of every replica (cpu)",
           [](const std::string& x) {
             return unless(x == "cpu" || x.rfind("cuda:", 0) == 0,
                           "expected cpu or cuda:N, got '{}'", x);
           }});
  declare(f, o.eval_batch_size,
          {"eval-batch-size", "eval_batch_size",
           "samples per forward pass in evaluation", at_least(1)});
  declare(f, o.steps_ahead,
          {"steps-ahead", "steps_ahead",
           "optimizer steps the loader may run ahead of the coordinator",
           at_least(1)});
  declare(f, o.logger_credits,
          {"logger-credits", "logger_credits",
           "log batches in flight to the logger before training waits",
           at_least(1)});
  declare(f, o.timeout_seconds,
          {"timeout", "timeout",
           "seconds without progress before the fit fails", [](double x) {
             return unless(x > 0, "must be positive, got {}", x);
           }});
}

} // namespace troupe::core
