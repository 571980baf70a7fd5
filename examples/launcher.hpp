#pragma once

// What both launchers share: option parsing, printing the effective
// configuration, running the trainer and mapping outcomes to exit codes:
//   0   training ended (completed, or stopped by a callback) with every
//       output written
//   1   training failed
//   2   bad usage, configuration, data or run directory (nothing trained)
//   3   training ended, but some outputs were lost (a sink, summary.json,
//       report.html or a trace failed; summary.json, when it could be
//       written, has "outputs_lost": true and says which)
//   130 stopped by SIGINT (143: SIGTERM), every output and a checkpoint
//       written

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <functional>
#include <string>

#include <fmt/format.h>
#include <torch/serialize.h>

#include "troupe/actors/trainer.hpp"
#include "troupe/core/config/cli.hpp"
#include "troupe/core/config/option_table.hpp"
#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/runtime/blas.hpp"
#include "troupe/core/runtime/interrupt.hpp"
#include "troupe/core/train/callback.hpp"
#include "troupe/core/train/optimizer.hpp"
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
  using namespace troupe::core::option_checks;
  p.add("ema-loss",
        "log train/loss_ema, an EMA of the loss with this alpha in (0, 1] "
        "(0: off)",
        c.ema_alpha, real_in(0, 1, false));
  p.add("lr-monitor",
        "log lr-<optimizer> (e.g. lr-AdamW) through the lr_monitor callback",
        c.lr_monitor);
  p.add("early-stopping",
        "stop when this validation metric stops improving "
        "(e.g. val/loss; empty: off)",
        c.early_stopping, [](const std::string& x) {
          return unless(x.empty() || (x.rfind("val/", 0) == 0 && x.size() > 4),
                        "must name a validation metric (val/NAME), got '{}'",
                        x);
        });
  p.add("patience", "validations without improvement before early stopping",
        c.patience, in_range(1, 1'000'000));
}

/// Options every launcher adds for the model's parameters.
struct model_options {
  std::string load_params; ///< torch::save file to start from; "" = none
  bool evaluate_only = false;
};

inline void add_model_options(troupe::core::arg_parser& p, model_options& m) {
  using namespace troupe::core::option_checks;
  p.add("load-params",
        "start from these parameters (a params_*.pt of --export-params)",
        m.load_params, path_like("a file"));
  p.add("evaluate-only",
        "evaluate the parameters (--load-params, else the seed's) on the "
        "validation and test sets, train nothing (true/false)",
        m.evaluate_only);
}

/// `def` whose replicas start from the parameters in `file` (when not
/// empty). The file is read here, once: a missing or mismatched one is a
/// data_error naming it before anything starts.
inline troupe::core::model_def with_params(troupe::core::model_def def,
                                           const std::string& file) {
  if (file.empty())
    return def;
  auto loaded = def.make();
  try {
    torch::load(loaded, file);
  } catch (const std::exception& e) {
    throw troupe::core::data_error(file,
                                   "cannot load the model's parameters: "
                                     + troupe::core::error_text(e));
  }
  // torch::load takes the file's shapes: hold them against the model's.
  auto fresh = def.make();
  auto want = fresh->named_parameters();
  auto got = loaded->named_parameters();
  for (const auto& p : want) {
    auto* q = got.find(p.key());
    if (q == nullptr)
      throw troupe::core::data_error(
        file, "has no parameter '" + p.key() + "' (another model?)");
    if (q->sizes() != p.value().sizes())
      throw troupe::core::data_error(
        file,
        fmt::format("parameter '{}' is {} in the file, {} in the model",
                    p.key(), fmt::join(q->sizes(), "x"),
                    fmt::join(p.value().sizes(), "x")));
  }
  auto make = def.make;
  def.make = [make, loaded] {
    auto m = make();
    troupe::core::copy_state(*loaded, *m);
    return m;
  };
  return def;
}

inline void add_callbacks(troupe::trainer& t, const callback_options& c) {
  using namespace troupe::core;
  if (c.ema_alpha > 0)
    t.add_callback(std::make_shared<ema_metric>(c.ema_alpha, "train/loss"));
  if (c.lr_monitor)
    t.add_callback(std::make_shared<lr_monitor>(optimizer_class(t.options())));
  if (!c.early_stopping.empty())
    t.add_callback(std::make_shared<early_stopping>(
      c.early_stopping, static_cast<int>(c.patience), 0.0,
      c.early_stopping.find("acc") != std::string::npos));
}

/// Writes to stdout; a closed stdout (`| head`) is not an error.
template <class... Ts>
void say(fmt::format_string<Ts...> text, Ts&&... xs) {
  auto line = fmt::format(text, std::forward<Ts>(xs)...);
  std::fwrite(line.data(), 1, line.size(), stdout);
}

/// Writes to stderr, ignoring a closed stderr.
template <class... Ts>
void complain(fmt::format_string<Ts...> text, Ts&&... xs) {
  auto line = fmt::format(text, std::forward<Ts>(xs)...);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

/// --evaluate-only: prints the validation and test metrics.
inline int evaluate(troupe::trainer& t, const troupe::core::model_def& model,
                    const troupe::core::data_module& data) {
  auto e = t.evaluate(model, data);
  if (!e.error.empty()) {
    complain("error: evaluation failed: {}\n", e.error);
    return 1;
  }
  say("evaluated:\n");
  for (const auto* ms : {&e.val, &e.test})
    for (const auto& m : *ms)
      say("  {} = {:.4f}\n", m.name, m.value);
  std::fflush(stdout);
  return 0;
}

/// Parses, then runs `body`; maps exceptions and outcomes to exit codes.
inline int run(int argc, char** argv, troupe::core::arg_parser& parser,
               const std::function<int()>& body) {
  // A closed stdout ends console output, not the run; a file-size limit
  // (ulimit -f) is a write error naming the file, like a full disk, not a
  // kill.
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    if (!parser.parse(argc, argv)) {
      say("{}", parser.help());
      return 0;
    }
    if (auto w = troupe::core::blas_warning(); !w.empty())
      complain("{}\n", w);
    return body();
  } catch (const troupe::core::config_error& e) {
    complain("error: {}\n", e.what());
    return 2;
  } catch (const troupe::core::data_error& e) {
    complain("error: data: {}\n", e.what());
    return 2;
  } catch (const troupe::core::output_error& e) {
    complain("error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    complain("error: {}\n", e.what());
    return 1;
  }
}

/// Prints the effective configuration, trains, prints the outcome.
/// Resolves the default run directory, so that the configuration printed at
/// start is the effective one.
inline void resolve_run_dir(troupe::core::trainer_options& opts,
                            const std::string& launcher) {
  if (!opts.resume.empty() && opts.run_dir.empty())
    throw troupe::core::config_error("resume",
                                     "continues a run: give its --run-dir");
  if (opts.run_dir.empty())
    opts.run_dir = troupe::core::create_version_dir("runs", launcher);
}

inline int fit(troupe::trainer& t, const troupe::core::model_def& model,
               const troupe::core::data_module& data,
               const std::vector<std::string>& extra_config) {
  // Valid already: parse() checked every option, trainer::fit validates
  // again for embedders.
  say("effective configuration:\n");
  for (const auto& l : troupe::core::describe(t.options()))
    say("  {}\n", l);
  for (const auto& l : extra_config)
    say("  {}\n", l);
  // The console sink shows the plan; without it, say it here.
  const auto& loggers = t.options().loggers;
  if (std::find(loggers.begin(), loggers.end(), "console") == loggers.end())
    for (const auto& l : t.plan(data.train.size()))
      say("{}\n", l);
  std::fflush(stdout);
  auto report = t.fit(model, data);
  bool lost = !report.sink_errors.empty();
  say("{}: {}{} after {} steps ({} epochs, {} samples) in {:.2f} s; "
      "run directory {}\n",
      report.status == troupe::fit_status::failed ? "FAILED" : "done",
      to_string(report.status), lost ? " (outputs lost)" : "",
      report.global_step, report.epochs, report.samples, report.wall_seconds,
      t.run_dir());
  for (const auto& m : report.last)
    if (m.name.rfind("test/", 0) == 0)
      say("  {} = {:.4f}\n", m.name, m.value);
  std::fflush(stdout);
  if (report.status == troupe::fit_status::failed) {
    complain("error: {}\n", report.error);
    return 1;
  }
  if (lost) {
    for (const auto& e : report.sink_errors)
      complain("error: output lost: {}\n", e);
    return 3;
  }
  if (report.interrupted)
    // As a shell reports the signal: 130 for SIGINT, 143 for SIGTERM.
    return 128
      + (troupe::core::interrupt_signal() == SIGTERM ? SIGTERM : SIGINT);
  return 0;
}

} // namespace launcher
