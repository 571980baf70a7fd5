#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
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
  /// The optimizer: sgd, adam, adamw or rmsprop (LibTorch's torch::optim
  /// classes). trainer::optimizer() replaces it with any other.
  std::string optimizer = "sgd";
  /// Learning rate (the peak of a schedule); unset: the optimizer's default
  /// (sgd 0.02, adam and adamw 0.001, rmsprop 0.01).
  std::optional<double> lr;
  /// Momentum of sgd and rmsprop; unset: sgd 0.9 (troupe's), rmsprop 0.
  std::optional<double> momentum;
  /// Nesterov momentum (sgd, with momentum > 0).
  bool nesterov = false;
  /// Weight decay; unset: the optimizer's default (adamw 0.01, others 0).
  std::optional<double> weight_decay;
  /// Adam's and AdamW's (beta1, beta2); unset: (0.9, 0.999).
  std::optional<std::array<double, 2>> betas;
  /// The epsilon of adam, adamw and rmsprop; unset: 1e-8.
  std::optional<double> eps;
  /// Learning rate per optimizer step: constant, cosine, linear or step
  /// (lr_schedule.hpp gives the formulas).
  std::string lr_schedule = "constant";
  /// Updates of linear warmup from lr / W to lr (0: none).
  int64_t warmup_steps = 0;
  /// Where cosine and linear end at the last update.
  double min_lr = 0;
  /// `step`: the rate is multiplied by `gamma` every `step_size` updates.
  int64_t step_size = 1000;
  double gamma = 0.1;
  /// Clip the reduced gradient to this global L2 norm; unset: no clipping.
  std::optional<double> clip_grad_norm;
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
  /// While a fit runs with the console logger, take what the process writes
  /// to stdout and stderr (callbacks, model code, libraries) through the
  /// logger, whole lines above the progress line and into console.log
  /// (core/runtime/console_capture.hpp).
  bool capture_output = true;
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
  /// Write a checkpoint after every N-th optimizer step (0: none but the
  /// one at the end of the fit or at a graceful stop).
  int64_t checkpoint_every_n_steps = 0;
  /// Where checkpoints go; empty = <run-dir>/checkpoints, "none" = no
  /// checkpoints at all.
  std::string checkpoint_dir;
  /// Checkpoints kept: the newest K (0: every one).
  int64_t keep_checkpoints = 2;
  /// Continue a run from a checkpoint: "last" (the newest of the checkpoint
  /// directory) or a checkpoint file; empty = a new run.
  std::string resume;
  /// Also keep the `save_top_k` checkpoints with the best value of this
  /// validation metric (empty: off), the lowest with `checkpoint_mode`
  /// "min", the highest with "max"; `best` names the best one.
  std::string checkpoint_monitor;
  std::string checkpoint_mode = "min";
  int64_t save_top_k = 1;
  /// A non-finite training loss: "stop" (the fit fails naming the step and
  /// the replica) or "skip-step" (no replica applies that step; counted and
  /// logged as train/skipped_steps).
  std::string on_nonfinite_loss = "stop";
};

/// The sink names `loggers` accepts.
const std::vector<std::string>& known_loggers();

/// The optimizers `optimizer` accepts, and the schedules of `lr_schedule`.
const std::vector<std::string>& known_optimizers();
const std::vector<std::string>& known_lr_schedules();

/// Runs every check of the option table, then the rules across options
/// (an option the chosen optimizer has not, --nesterov without momentum,
/// --min-lr above --lr); throws config_error naming the flag of the first
/// invalid field.
void validate(const trainer_options& opts);

/// `opts` with the chosen optimizer's defaults filled in where its own
/// options are unset (lr, momentum, weight_decay, betas, eps); what was set
/// stays as it is, options of other optimizers stay unset.
trainer_options with_optimizer_defaults(trainer_options opts);

/// The effective configuration as a JSON object (config.json): one key per
/// option, in the order of option_table.hpp.
std::string to_json(const trainer_options& opts);

/// One `flag = value` line per option, for printing at start.
std::vector<std::string> describe(const trainer_options& opts);

} // namespace troupe::core
