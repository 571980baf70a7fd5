#include "troupe/core/config/options.hpp"

#include "troupe/core/data/augment.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/json.hpp"

namespace troupe::core {

const std::vector<std::string>& known_loggers() {
  static const std::vector<std::string> names{"console", "csv", "jsonl",
                                              "tensorboard"};
  return names;
}

namespace {

void require(bool ok, const char* field, const std::string& what) {
  if (!ok)
    throw config_error(field, what);
}

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs) {
    if (!out.empty())
      out += ',';
    out += x;
  }
  return out;
}

std::string reductions(const trainer_options& o) {
  std::string out;
  for (const auto& [name, spec] : o.reduce) {
    if (!out.empty())
      out += ',';
    out += name + "=" + to_string(spec);
  }
  return out;
}

} // namespace

void validate(const trainer_options& o) {
  require(o.replicas >= 1, "replicas",
          fmt::format("must be at least 1, got {}", o.replicas));
  require(o.accumulate >= 1, "accumulate",
          fmt::format("must be at least 1, got {}", o.accumulate));
  require(o.batch_size >= 1, "batch-size",
          fmt::format("must be at least 1, got {}", o.batch_size));
  require(std::isfinite(o.lr) && o.lr > 0, "lr",
          fmt::format("must be a positive number, got {}", o.lr));
  require(std::isfinite(o.momentum) && o.momentum >= 0 && o.momentum < 1,
          "momentum", fmt::format("must be in [0, 1), got {}", o.momentum));
  require(o.max_epochs >= 1, "max-epochs",
          fmt::format("must be at least 1, got {}", o.max_epochs));
  require(o.max_steps == -1 || o.max_steps >= 1, "max-steps",
          fmt::format("must be -1 (no limit) or at least 1, got {}",
                      o.max_steps));
  require(o.val_every_n_steps >= 0, "val-every-n-steps",
          fmt::format("must be 0 (epoch ends) or positive, got {}",
                      o.val_every_n_steps));
  require(o.log_every_n_steps >= 1, "log-every-n-steps",
          fmt::format("must be at least 1, got {}", o.log_every_n_steps));
  for (const auto& l : o.loggers)
    require(std::find(known_loggers().begin(), known_loggers().end(), l)
              != known_loggers().end(),
            "loggers",
            fmt::format("unknown logger '{}' (known: {})", l,
                        join(known_loggers())));
  for (size_t i = 0; i < o.loggers.size(); ++i)
    for (size_t j = i + 1; j < o.loggers.size(); ++j)
      require(o.loggers[i] != o.loggers[j], "loggers",
              fmt::format("logger '{}' named twice", o.loggers[i]));
  static const std::vector<std::string> trace_kinds{
    "all", "coordinator", "logger", "aggregator", "loader", "stepper",
    "callback"};
  for (const auto& t : o.trace)
    require(std::find(trace_kinds.begin(), trace_kinds.end(), t)
              != trace_kinds.end(),
            "trace",
            fmt::format("unknown actor '{}' (known: {})", t, join(trace_kinds)));
  parse_augment(o.augment); // throws config_error naming --augment
  require(o.trace_tensors == "full" || o.trace_tensors == "digest",
          "trace-tensors",
          fmt::format("expected full or digest, got '{}'", o.trace_tensors));
  require(o.scheduler_threads >= 0, "scheduler-threads",
          fmt::format("must be 0 (one per core) or positive, got {}",
                      o.scheduler_threads));
  require(o.device == "cpu" || o.device.rfind("cuda:", 0) == 0, "device",
          fmt::format("expected cpu or cuda:N, got '{}'", o.device));
  require(o.eval_batch_size >= 1, "eval-batch-size",
          fmt::format("must be at least 1, got {}", o.eval_batch_size));
  require(o.steps_ahead >= 1, "steps-ahead",
          fmt::format("must be at least 1, got {}", o.steps_ahead));
  require(o.logger_credits >= 1, "logger-credits",
          fmt::format("must be at least 1, got {}", o.logger_credits));
  require(o.timeout_seconds > 0, "timeout",
          fmt::format("must be positive, got {}", o.timeout_seconds));
  for (const auto& [name, spec] : o.reduce) {
    require(name.rfind("train/", 0) == 0 && name.size() > 6, "reduce",
            fmt::format("'{}' is not a training metric: windows reduce "
                        "train/NAME metrics (e.g. train/loss)",
                        name));
    if (spec.kind == reduction_spec::ema)
      require(spec.alpha > 0 && spec.alpha <= 1, "reduce",
              fmt::format("ema alpha of '{}' must be in (0, 1]", name));
  }
}

std::string to_json(const trainer_options& o) {
  std::string loggers = "[";
  for (size_t i = 0; i < o.loggers.size(); ++i)
    loggers += (i > 0 ? ", " : "") + json_quote(o.loggers[i]);
  loggers += "]";
  std::string reduce = "{";
  bool first = true;
  for (const auto& [name, spec] : o.reduce) {
    reduce += (first ? "" : ", ") + json_quote(name) + ": "
              + json_quote(to_string(spec));
    first = false;
  }
  reduce += "}";
  json_object j;
  j.add("replicas", o.replicas)
    .add("accumulate", o.accumulate)
    .add("batch_size", o.batch_size)
    .add("lr", o.lr)
    .add("momentum", o.momentum)
    .add("max_epochs", o.max_epochs)
    .add("max_steps", o.max_steps)
    .add("val_every_n_steps", o.val_every_n_steps)
    .add("log_every_n_steps", o.log_every_n_steps)
    .add_raw("reduce", reduce)
    .add("seed", o.seed)
    .add("shuffle", o.shuffle)
    .add("run_dir", o.run_dir)
    .add("overwrite", o.overwrite)
    .add_raw("loggers", loggers)
    .add("report", o.report)
    .add("augment", o.augment)
    .add_raw("trace", [&] {
      std::string out = "[";
      for (size_t i = 0; i < o.trace.size(); ++i)
        out += (i > 0 ? ", " : "") + json_quote(o.trace[i]);
      return out + "]";
    }())
    .add("trace_tensors", o.trace_tensors)
    .add("scheduler_threads", o.scheduler_threads)
    .add("export_params", o.export_params)
    .add("device", o.device)
    .add("eval_batch_size", o.eval_batch_size)
    .add("steps_ahead", o.steps_ahead)
    .add("logger_credits", o.logger_credits)
    .add("timeout", o.timeout_seconds);
  return j.str();
}

std::vector<std::string> describe(const trainer_options& o) {
  return {
    fmt::format("replicas            = {}", o.replicas),
    fmt::format("accumulate          = {}", o.accumulate),
    fmt::format("batch-size          = {}", o.batch_size),
    fmt::format("lr                  = {}", o.lr),
    fmt::format("momentum            = {}", o.momentum),
    fmt::format("max-epochs          = {}", o.max_epochs),
    fmt::format("max-steps           = {}", o.max_steps),
    fmt::format("val-every-n-steps   = {}", o.val_every_n_steps),
    fmt::format("log-every-n-steps   = {}", o.log_every_n_steps),
    fmt::format("reduce              = {}", reductions(o)),
    fmt::format("seed                = {}", o.seed),
    fmt::format("shuffle             = {}", o.shuffle),
    fmt::format("run-dir             = {}", o.run_dir),
    fmt::format("overwrite           = {}", o.overwrite),
    fmt::format("loggers             = {}", join(o.loggers)),
    fmt::format("report              = {}", o.report),
    fmt::format("augment             = {}", o.augment.empty() ? "none" : o.augment),
    fmt::format("trace               = {}", join(o.trace)),
    fmt::format("trace-tensors       = {}", o.trace_tensors),
    fmt::format("scheduler-threads   = {}", o.scheduler_threads),
    fmt::format("export-params       = {}", o.export_params),
    fmt::format("device              = {}", o.device),
  };
}

} // namespace troupe::core
