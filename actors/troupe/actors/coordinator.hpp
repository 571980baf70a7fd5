#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>

#include "troupe/actors/actors.hpp"
#include "troupe/actors/fwd.hpp"
#include "troupe/core/config/options.hpp"
#include "troupe/core/data/datasets.hpp"
#include "troupe/core/train/checkpoint.hpp"
#include "troupe/core/train/lr_schedule.hpp"
#include "troupe/core/train/model.hpp"
#include "troupe/core/train/optimizer.hpp"
#include "troupe/core/train/schedule.hpp"

namespace troupe::actors {

/// The actors a coordinator drives. Normally it spawns them itself; a
/// replay (or a test) hands in stand-ins instead.
struct pipeline_handles {
  loader_actor loader;
  aggregator_actor aggregator;
  std::vector<stepper_actor> steppers; ///< one per replica, by rank
};

struct coordinator_config {
  core::trainer_options options;
  core::schedule sched;
  core::model_def model;
  /// Each replica's optimizer, and the learning rate per update (empty:
  /// the optimizer's own).
  core::optimizer_factory optimizer;
  core::lr_schedule lr_schedule;
  /// One module per replica, already bit-identical.
  std::vector<std::shared_ptr<torch::nn::Module>> replicas;
  std::shared_ptr<const core::data_module> data;
  logger_actor logger;
  /// Callback hosts with the callbacks' names, in the order effects apply.
  std::vector<std::pair<std::string, callback_actor>> callbacks;
  /// For config.json and the start lines of the console.
  std::string config_json;
  std::vector<std::string> start_lines;
  spawn_hook on_spawn;
  /// Installed in the coordinator and every actor it spawns.
  inbound_tap tap;
  /// When set, the coordinator monitors these instead of spawning the
  /// pipeline (`replicas`, `model` and `data` are then unused).
  std::optional<pipeline_handles> pipeline;
  /// Where checkpoints go (core::checkpoint_dir_of); empty: none. The
  /// coordinator spawns the checkpointer and hands it to the steppers.
  std::string checkpoint_dir;
  checkpointer_actor checkpointer;
  /// Continue from this checkpoint (read from `resume_file`): the loop's
  /// state, and for the pipeline the step to start after and the
  /// optimizer and generator states. The replicas hold its parameters and
  /// the callbacks their states already.
  std::shared_ptr<const core::checkpoint> resume;
  std::string resume_file;
};

/// Spawns the coordinator, the single sequencer and supervisor. It spawns
/// (or, given `pipeline`, adopts) and monitors the loader, the aggregator
/// and one stepper per replica, owns
/// the step clock, reduces training metrics over logging windows, sends
/// events to the callbacks and ordered log batches to the logger. Answers
/// `start_atom` with the `fit_report` once the fit ended.
coordinator_actor spawn_coordinator(caf::actor_system& sys,
                                    coordinator_config cfg);

} // namespace troupe::actors
