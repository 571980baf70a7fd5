#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "troupe/core/trace/trace_tensors.hpp"
#include "troupe/core/train/reducers.hpp"

namespace troupe::core {

/// Everything a fit is configured by. Validated by `validate`. Each field's
/// flag, config.json key, help line and accepted values are declared once,
/// in option_table.hpp.
struct trainer_options {
  /// Data-parallel replicas in this process (one stepper each).
  int64_t replicas = 1;
  /// Micro-batches per replica per optimizer step.
  int64_t accumulate = 1;
  /// Samples per micro-batch (per replica).
  int64_t batch_size = 64;
  /// SGD learning rate.
  double lr = 0.02;
  /// SGD momentum.
  double momentum = 0.9;
  /// Epochs to train.
  int64_t max_epochs = 3;
  /// Stop after this many optimizer steps; -1 = no limit.
  int64_t max_steps = -1;
  /// Validate every N optimizer steps; 0 = at each epoch's end.
  int64_t val_every_n_steps = 0;
  /// Write training metrics at steps where step % N == 0.
  int64_t log_every_n_steps = 50;
  /// Per-metric window reduction (default: sample-weighted mean).
  std::map<std::string, reduction_spec> reduce;
  /// Seed of model initialisation and data order.
  uint64_t seed = 0;
  /// Shuffle the training set each epoch.
  bool shuffle = true;
  /// Output directory; empty = runs/<name>/version_<N>.
  std::string run_dir;
  /// Allow a run directory that already holds metrics.
  bool overwrite = false;
  /// Sinks: console, csv, jsonl, tensorboard.
  std::vector<std::string> loggers = {"console", "csv", "jsonl"};
  /// Write <run-dir>/report.html (charts, configuration, summary) at the end.
  bool report = false;
  /// Training-time augmentation done by the loader: "", or "rotate:D",
  /// "crop:P", "flip" joined by '+' (see data/augment.hpp).
  std::string augment;
  /// Record the inbound messages of these actors (coordinator, logger,
  /// aggregator, loader, stepper, callback, or all) to <run-dir>/trace/.
  std::vector<std::string> trace;
  /// How traces record gradient tensors: full (by value, replayable) or
  /// digest (shape, dtype and a 64-bit digest: small and fast).
  core::trace_tensors trace_tensors = core::trace_tensors::full;
  /// Worker threads of the actor system; 0 = one per core.
  int64_t scheduler_threads = 0;
  /// LibTorch and OpenBLAS threads of each replica's step; 0 = the cores
  /// shared among the replicas (at least 1). Results are bit-identical for
  /// a given value, not across values.
  int64_t intra_op_threads = 0;
  /// Keep freed heap memory in the process (core/runtime/memory.hpp), so
  /// that tensors allocated each step do not fault their pages in again.
  bool retain_memory = true;
  /// Directory for params_init.pt / params_final.pt; empty = none.
  std::string export_params;
  /// Device of every replica: "cpu" (or "cuda:i" on CUDA builds).
  std::string device = "cpu";
  /// Samples per forward pass in validation and test.
  int64_t eval_batch_size = 1000;
  /// Optimizer steps the loader may run ahead of the coordinator (>= 1).
  int64_t steps_ahead = 2;
  /// Log batches in flight to the logger before training waits.
  int64_t logger_credits = 64;
  /// Seconds without progress before the fit fails (no unbounded wait).
  double timeout_seconds = 600;
};

/// The sink names `loggers` accepts.
const std::vector<std::string>& known_loggers();

/// Runs every check of the option table; throws config_error naming the
/// flag of the first invalid field.
void validate(const trainer_options& opts);

/// The effective configuration as a JSON object (config.json): one key per
/// option, in the order of option_table.hpp.
std::string to_json(const trainer_options& opts);

/// One `flag = value` line per option, for printing at start.
std::vector<std::string> describe(const trainer_options& opts);

} // namespace troupe::core
