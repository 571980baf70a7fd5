#pragma once

// What both launchers share: option parsing, printing the effective
// configuration, running the trainer and mapping outcomes to exit codes
// (0 done, 1 training failed, 2 bad usage, configuration, data or run dir).

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>

#include <fmt/format.h>

#include "troupe/actors/trainer.hpp"
#include "troupe/core/config/cli.hpp"
#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/runtime/blas.hpp"
#include "troupe/core/train/callback.hpp"
#include "troupe/core/util/errors.hpp"

namespace launcher {

/// Options every launcher adds to the trainer's: built-in callbacks.
struct callback_options {
  double ema_alpha = 0.0;     ///< > 0 adds ema(train/loss)
  bool lr_monitor = false;    ///< adds lr_monitor
  std::string early_stopping; ///< monitored metric; empty = off
  int64_t patience = 3;
};

inline void add_callback_options(troupe::core::arg_parser& p,
                                 callback_options& c) {
  p.add("ema-loss",
        "log train/loss_ema, an EMA of the loss with this alpha "
        "(0: off)",
        c.ema_alpha);
  p.add("lr-monitor", "log lr-SGD through the lr_monitor callback",
        c.lr_monitor);
  p.add("early-stopping",
        "stop when this validation metric stops improving "
        "(e.g. val/loss; empty: off)",
        c.early_stopping);
  p.add("patience", "validations without improvement before early stopping",
        c.patience);
}

inline void add_callbacks(troupe::trainer& t, const callback_options& c) {
  using namespace troupe::core;
  if (c.ema_alpha > 0)
    t.add_callback(std::make_shared<ema_metric>(c.ema_alpha, "train/loss"));
  if (c.lr_monitor)
    t.add_callback(std::make_shared<lr_monitor>());
  if (!c.early_stopping.empty())
    t.add_callback(std::make_shared<early_stopping>(
      c.early_stopping, static_cast<int>(c.patience), 0.0,
      c.early_stopping.find("acc") != std::string::npos));
}

/// Parses, then runs `body`; maps exceptions and outcomes to exit codes.
inline int run(int argc, char** argv, troupe::core::arg_parser& parser,
               const std::function<int()>& body) {
  try {
    if (!parser.parse(argc, argv)) {
      std::fputs(parser.help().c_str(), stdout);
      return 0;
    }
    if (auto w = troupe::core::blas_warning(); !w.empty())
      fmt::print(stderr, "{}\n", w);
    return body();
  } catch (const troupe::core::config_error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  } catch (const troupe::core::data_error& e) {
    fmt::print(stderr, "error: data: {}\n", e.what());
    return 2;
  } catch (const troupe::core::output_error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}

/// Prints the effective configuration, trains, prints the outcome.
/// Resolves the default run directory, so that the configuration printed at
/// start is the effective one.
inline void resolve_run_dir(troupe::core::trainer_options& opts,
                            const std::string& launcher) {
  if (opts.run_dir.empty())
    opts.run_dir = troupe::core::next_version_dir("runs", launcher);
}

inline int fit(troupe::trainer& t, const troupe::core::model_def& model,
               const troupe::core::data_module& data,
               const std::vector<std::string>& extra_config) {
  troupe::core::validate(t.options());
  fmt::print("effective configuration:\n");
  for (const auto& l : troupe::core::describe(t.options()))
    fmt::print("  {}\n", l);
  for (const auto& l : extra_config)
    fmt::print("  {}\n", l);
  // The console sink shows the plan; without it, say it here.
  const auto& loggers = t.options().loggers;
  if (std::find(loggers.begin(), loggers.end(), "console") == loggers.end())
    for (const auto& l : t.plan(data.train.size()))
      fmt::print("{}\n", l);
  std::fflush(stdout);
  auto report = t.fit(model, data);
  fmt::print("{}: {} after {} steps ({} epochs, {} samples) in {:.2f} s; "
             "run directory {}\n",
             report.status == troupe::fit_status::failed ? "FAILED" : "done",
             to_string(report.status), report.global_step, report.epochs,
             report.samples, report.wall_seconds, t.run_dir());
  for (const auto& m : report.last)
    if (m.name.rfind("test/", 0) == 0)
      fmt::print("  {} = {:.4f}\n", m.name, m.value);
  if (report.status == troupe::fit_status::failed) {
    fmt::print(stderr, "error: {}\n", report.error);
    return 1;
  }
  if (report.interrupted)
    return 130; // as a shell reports a Ctrl-C
  return 0;
}

} // namespace launcher
