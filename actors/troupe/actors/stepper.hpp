#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "troupe/actors/actors.hpp"
#include "troupe/actors/tap.hpp"
#include "troupe/core/data/datasets.hpp"
#include "troupe/core/train/checkpoint.hpp"
#include "troupe/core/train/lr_schedule.hpp"
#include "troupe/core/train/model.hpp"
#include "troupe/core/train/optimizer.hpp"
#include "troupe/core/train/schedule.hpp"

namespace troupe::actors {

struct stepper_config {
  int32_t rank = 0;
  /// Seeds this replica's random generator (with the rank).
  uint64_t seed = 0;
  core::schedule sched;
  /// This replica's module (bit-identical to every other replica's).
  std::shared_ptr<torch::nn::Module> module;
  core::model_def model;
  /// Builds this replica's optimizer over its parameters.
  core::optimizer_factory make_optimizer;
  /// The learning rate of each update; empty: the optimizer's own.
  core::lr_schedule lr_at;
  /// "cpu" or "cuda:i".
  std::string device = "cpu";
  std::shared_ptr<const core::data_module> data;
  int64_t eval_batch_size = 1000;
  /// A non-finite loss: false, the stepper fails naming step and replica;
  /// true, it contributes the NaN (the aggregator then tells every replica
  /// to skip the step) and restores its buffers if the step is skipped.
  bool skip_nonfinite = false;
  /// Rank 0 writes params_init.pt / params_final.pt here when not empty.
  std::string export_dir;
  aggregator_actor aggregator;
  failure_sink_actor coordinator;
  inbound_tap tap;
  /// Where this replica's share of each checkpoint goes (null: none), sent
  /// unasked after every `checkpoint_every`-th step
  /// (core::is_periodic_checkpoint) and on request at the last one.
  checkpointer_actor checkpointer;
  int64_t checkpoint_every = 0;
  /// Also every validation step (--checkpoint-monitor).
  bool checkpoint_validations = false;
  /// Continue after the step of this checkpoint (its optimizer and
  /// generator states; the module has its parameters already), read from
  /// `resume_file`.
  std::shared_ptr<const core::checkpoint> resume;
  std::string resume_file;
};

/// Spawns the stepper of one replica. It owns the replica's module, its
/// optimizer and one flat gradient buffer. Per `step_batch` it runs the
/// micro-batches (loss weighted by samples / global batch), asks the
/// aggregator with its `contribution` (with several replicas, also its
/// floating-point buffers), sets the step's learning rate, applies the
/// `reduced_gradient` it answers (and the averaged buffers), and runs the
/// scheduled validation on its shard. An `eval_request` for the test
/// set writes params_final.pt (rank 0) and evaluates. Non-finite losses and
/// exceptions become an `actor_failure` naming step and replica.
stepper_actor spawn_stepper(caf::actor_system& sys, stepper_config cfg);

} // namespace troupe::actors
