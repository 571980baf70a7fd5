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
#include <map>
#include <optional>
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
  /// Whether `--resume` accepts a value other than the checkpoint's: true
  /// for options that change where and how a run is written or scheduled
  /// on the machine, never what it computes (checkpoint.hpp checks the
  /// others).
  bool free_on_resume = false;
};

/// Checks for option_info::check.
namespace option_checks {

/// "" when `ok`, else the formatted complaint.
template <class... Ts>
std::string unless(bool ok, fmt::format_string<Ts...> what, Ts&&... xs) {
  return ok ? std::string{} : fmt::format(what, std::forward<Ts>(xs)...);
}

/// Integers in [lo, hi].
inline std::function<std::string(const int64_t&)> in_range(int64_t lo,
                                                           int64_t hi) {
  return [lo, hi](const int64_t& x) {
    if (x < lo)
      return fmt::format("must be at least {}, got {}", lo, x);
    return unless(x <= hi, "must be at most {}, got {}", hi, x);
  };
}

/// `off` (a value meaning "none"), or integers in [lo, hi].
inline std::function<std::string(const int64_t&)>
off_or_range(int64_t off, const char* means, int64_t lo, int64_t hi) {
  return [=](const int64_t& x) {
    return x == off || (x >= lo && x <= hi)
      ? std::string{}
      : fmt::format("must be {} ({}) or in [{}, {}], got {}", off, means, lo,
                    hi, x);
  };
}

/// Finite numbers in (lo, hi] when `open_lo`, else in [lo, hi]; NaN and the
/// infinities never pass.
inline std::function<std::string(const double&)> real_in(double lo, double hi,
                                                         bool open_lo) {
  return [=](const double& x) {
    bool ok = std::isfinite(x) && (open_lo ? x > lo : x >= lo) && x <= hi;
    return unless(ok, "must be a number in {}{}, {}], got {}",
                  open_lo ? "(" : "[", lo, hi, x);
  };
}

/// Unset, or a value `check` accepts.
template <class T>
std::function<std::string(const std::optional<T>&)>
unset_or(std::function<std::string(const T&)> check) {
  return [check](const std::optional<T>& x) {
    return x ? check(*x) : std::string{};
  };
}

/// One word of `words`; `what` names it in the complaint.
inline std::function<std::string(const std::string&)>
one_of(std::string what, std::vector<std::string> words) {
  return [what, words](const std::string& x) {
    return unless(std::find(words.begin(), words.end(), x) != words.end(),
                  "unknown {} '{}' (known: {})", what, x,
                  fmt::join(words, ","));
  };
}

/// Finite numbers in [0, 1): momenta and betas.
inline std::string unit_interval(const double& x) {
  return unless(std::isfinite(x) && x >= 0 && x < 1,
                "must be in [0, 1), got {}", x);
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

/// Paths: empty (none) or at most 4096 bytes without NUL or newline;
/// `what` names what the path should be.
inline std::function<std::string(const std::string&)>
path_like(const char* what) {
  return [what](const std::string& x) {
    if (x.size() > 4096)
      return fmt::format("must be {} path of at most 4096 bytes, got {}", what,
                         x.size());
    return unless(x.find_first_of(std::string{"\0\n\r", 3})
                    == std::string::npos,
                  "must be {} path without NUL or line breaks", what);
  };
}

/// Window reductions of train/NAME metrics, ema alphas in (0, 1].
std::string reductions(const std::map<std::string, reduction_spec>& xs);

/// "cpu" or "cuda:N" with N in [0, 1023].
std::string device(const std::string& spec);

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
  // Ranges: wide enough for any real run, narrow enough that no product of
  // options overflows int64 and nothing is sized or looped in proportion to
  // an absurd value (schedule::make checks the products that remain).
  constexpr int64_t steps_max = 1'000'000'000'000; // 1e12 optimizer steps
  declare(f, o.replicas,
          {"replicas", "replicas", "data-parallel replicas (one stepper each)",
           in_range(1, 1024)});
  declare(f, o.accumulate,
          {"accumulate", "accumulate",
           "micro-batches per replica per optimizer step",
           in_range(1, 1'000'000)});
  declare(f, o.batch_size,
          {"batch-size", "batch_size", "samples per micro-batch (per replica)",
           in_range(1, 1'000'000'000)});
  declare(f, o.optimizer,
          {"optimizer", "optimizer",
           "the optimizer: sgd, adam, adamw or rmsprop (torch::optim)",
           one_of("optimizer", known_optimizers())});
  declare(f, o.lr,
          {"lr", "lr",
           "learning rate, the peak of a schedule (default: the "
           "optimizer's: sgd 0.02, adam/adamw 0.001, rmsprop 0.01)",
           unset_or(real_in(0, 1e6, true)), "the optimizer's"});
  declare(f, o.momentum,
          {"momentum", "momentum",
           "momentum of sgd and rmsprop (default: sgd 0.9, rmsprop 0)",
           unset_or<double>(unit_interval), "none"});
  declare(f, o.nesterov,
          {"nesterov", "nesterov",
           "Nesterov momentum (sgd with --momentum > 0; true/false)"});
  declare(f, o.weight_decay,
          {"weight-decay", "weight_decay",
           "weight decay (default: the optimizer's: adamw 0.01, others 0)",
           unset_or(real_in(0, 1e6, false)), "the optimizer's"});
  declare(f, o.betas,
          {"betas", "betas",
           "B1,B2 of adam and adamw, each in [0, 1) (default 0.9,0.999)",
           [](const std::optional<std::array<double, 2>>& x) {
             if (!x)
               return std::string{};
             auto what = unit_interval((*x)[0]);
             return what.empty() ? unit_interval((*x)[1]) : what;
           },
           "none"});
  declare(f, o.eps,
          {"eps", "eps",
           "epsilon of adam, adamw and rmsprop, in (0, 1] (default 1e-8)",
           unset_or(real_in(0, 1, true)), "none"});
  declare(f, o.lr_schedule,
          {"lr-schedule", "lr_schedule",
           "learning rate per optimizer step: constant, cosine, linear or "
           "step (after --warmup-steps of linear warmup)",
           one_of("schedule", known_lr_schedules())});
  declare(f, o.warmup_steps,
          {"warmup-steps", "warmup_steps",
           "updates of linear warmup from lr/W to lr, fewer than the fit's "
           "steps (0: none)",
           in_range(0, steps_max)});
  declare(f, o.min_lr,
          {"min-lr", "min_lr",
           "learning rate cosine and linear reach at the last step",
           real_in(0, 1e6, false)});
  declare(f, o.step_size,
          {"step-size", "step_size",
           "step schedule: updates between multiplications by --gamma",
           in_range(1, steps_max)});
  declare(f, o.gamma,
          {"gamma", "gamma", "step schedule: factor every --step-size updates",
           real_in(0, 1, true)});
  declare(f, o.clip_grad_norm,
          {"clip-grad-norm", "clip_grad_norm",
           "clip the reduced gradient to this global L2 norm (none: off)",
           unset_or(real_in(0, 1e6, true)), "none"});
  declare(f, o.max_epochs,
          {"max-epochs", "max_epochs", "epochs to train",
           in_range(1, 1'000'000'000)});
  declare(f, o.max_steps,
          {"max-steps", "max_steps",
           "stop after this many optimizer steps (-1: no limit)",
           off_or_range(-1, "no limit", 1, steps_max)});
  declare(f, o.val_every_n_steps,
          {"val-every-n-steps", "val_every_n_steps",
           "validate every N steps (0: at epoch ends)",
           off_or_range(0, "at epoch ends", 1, steps_max)});
  declare(f, o.log_every_n_steps,
          {"log-every-n-steps", "log_every_n_steps",
           "write training metrics every N steps", in_range(1, steps_max)});
  declare(f, o.reduce,
          {"reduce", "reduce",
           "window reduction per metric, NAME=SPEC,... with SPEC one of mean, "
           "sum, last, min, max, ema:ALPHA",
           option_checks::reductions});
  declare(f, o.seed, {"seed", "seed", "seed of initialisation and data order"});
  declare(f, o.shuffle,
          {"shuffle", "shuffle",
           "shuffle the training set each epoch (true/false)"});
  declare(f, o.run_dir,
          {"run-dir", "run_dir",
           "output directory (default runs/<launcher>/version_<N>)",
           path_like("a directory"), nullptr, true});
  declare(f, o.overwrite,
          {"overwrite",
           "overwrite",
           "replace the run directory's previous run (every file of it)",
           {},
           nullptr,
           true});
  declare(f, o.loggers,
          {"loggers", "loggers",
           "comma list of sinks: console, csv, jsonl, tensorboard",
           both(known("logger", known_loggers()), distinct("logger"))});
  declare(f, o.report,
          {"report",
           "report",
           "write <run-dir>/report.html at the end (true/false)",
           {},
           nullptr,
           true});
  declare(f, o.augment,
          {"augment", "augment",
           "training augmentation done by the loader: none, or rotate:D, "
           "crop:P, flip joined by '+'",
           option_checks::augment, "none"});
  declare(f, o.trace,
          {"trace", "trace",
           "record inbound messages of these actors to <run-dir>/trace: "
           "coordinator, logger, aggregator, loader, stepper, callback or all",
           both(known("actor",
                      {"all", "coordinator", "logger", "aggregator", "loader",
                       "stepper", "callback"}),
                distinct("actor")),
           nullptr, true});
  declare(f, o.trace_tensors,
          {"trace-tensors",
           "trace_tensors",
           "how traces record gradients: full (by value, replayable) or "
           "digest (shape, dtype, 64-bit digest)",
           {},
           nullptr,
           true});
  declare(f, o.scheduler_threads,
          {"scheduler-threads", "scheduler_threads",
           "actor system worker threads (0: one per core)",
           off_or_range(0, "one per core", 1, 256), nullptr, true});
  declare(f, o.intra_op_threads,
          {"intra-op-threads", "intra_op_threads",
           "LibTorch/OpenBLAS threads per replica (0: cores / replicas)",
           off_or_range(0, "cores / replicas", 1, 256), nullptr, true});
  declare(f, o.retain_memory,
          {"retain-memory",
           "retain_memory",
           "keep freed heap memory in the process so per-step tensors do not "
           "fault their pages in again (true/false)",
           {},
           nullptr,
           true});
  declare(f, o.capture_output,
          {"capture-output",
           "capture_output",
           "with the console logger, print what the process writes to "
           "stdout/stderr during the fit as whole lines above the progress "
           "line and into console.log (true/false)",
           {},
           nullptr,
           true});
  declare(f, o.export_params,
          {"export-params", "export_params",
           "directory for params_init.pt and params_final.pt (torch::save)",
           path_like("a directory"), nullptr, true});
  declare(f, o.device,
          {"device", "device", "device of every replica (cpu)",
           option_checks::device});
  declare(f, o.eval_batch_size,
          {"eval-batch-size", "eval_batch_size",
           "samples per forward pass in evaluation",
           in_range(1, 1'000'000'000)});
  declare(f, o.steps_ahead,
          {"steps-ahead", "steps_ahead",
           "optimizer steps the loader may run ahead of the coordinator",
           in_range(1, 1000)});
  declare(f, o.logger_credits,
          {"logger-credits", "logger_credits",
           "log batches in flight to the logger before training waits",
           in_range(1, 1'000'000), nullptr, true});
  declare(f, o.timeout_seconds,
          {"timeout", "timeout",
           "seconds without progress before the fit fails",
           real_in(1, 1e6, false), nullptr, true});
  declare(f, o.checkpoint_every_n_steps,
          {"checkpoint-every-n-steps", "checkpoint_every_n_steps",
           "write a checkpoint after every N-th optimizer step (0: only at "
           "the end of the fit and at a graceful stop)",
           in_range(0, steps_max), nullptr, true});
  declare(f, o.checkpoint_dir,
          {"checkpoint-dir", "checkpoint_dir",
           "directory of the checkpoints (default <run-dir>/checkpoints; "
           "none: no checkpoints)",
           path_like("a directory"), "<run-dir>/checkpoints", true});
  declare(f, o.keep_checkpoints,
          {"keep-checkpoints", "keep_checkpoints",
           "checkpoints kept: the newest K (0: every one)",
           in_range(0, 1'000'000), nullptr, true});
  declare(f, o.resume,
          {"resume", "resume",
           "continue the run of --run-dir from a checkpoint: last (the newest) "
           "or a checkpoint file",
           path_like("a checkpoint"), "none", true});
  declare(f, o.checkpoint_monitor,
          {"checkpoint-monitor", "checkpoint_monitor",
           "also keep the --save-top-k checkpoints with the best value of "
           "this validation metric (e.g. val/loss; empty: off)",
           [](const std::string& x) {
             return unless(x.empty()
                             || (x.rfind("val/", 0) == 0 && x.size() > 4),
                           "must name a validation metric (val/NAME), got "
                           "'{}'",
                           x);
           },
           "none", true});
  declare(f, o.checkpoint_mode,
          {"checkpoint-mode", "checkpoint_mode",
           "min or max: which value of --checkpoint-monitor is best",
           one_of("mode", {"min", "max"}), nullptr, true});
  declare(f, o.save_top_k,
          {"save-top-k", "save_top_k",
           "checkpoints kept for --checkpoint-monitor's best values",
           in_range(1, 1'000'000), nullptr, true});
  declare(f, o.on_nonfinite_loss,
          {"on-nonfinite-loss", "on_nonfinite_loss",
           "a NaN or infinite training loss: stop (the fit fails naming the "
           "step and replica) or skip-step (no replica applies the step; "
           "logged as train/skipped_steps)",
           one_of("policy", {"stop", "skip-step"})});
}

} // namespace troupe::core
