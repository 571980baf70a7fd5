#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <caf/actor_system.hpp>

#include "troupe/actors/actors.hpp"
#include "troupe/actors/tap.hpp"
#include "troupe/core/data/augment.hpp"
#include "troupe/core/data/datasets.hpp"
#include "troupe/core/train/schedule.hpp"

namespace troupe::actors {

struct loader_config {
  core::schedule sched;
  std::shared_ptr<const core::tensor_dataset> train;
  uint64_t seed = 0;
  bool shuffle = true;
  /// Applied to every training micro-batch (core/augment.hpp).
  core::augment_spec augment;
  /// One stepper per rank, in rank order.
  std::vector<stepper_actor> steppers;
  /// The first step to produce (after the step of a checkpoint resumed).
  int64_t first_step = 1;
  inbound_tap tap;
};

/// Spawns the loader: on each `step_permit` it produces the `step_batch` of
/// every permitted step for every rank, in step order. Data order is a pure
/// function of (seed, epoch), augmentation of (seed, epoch, step, rank,
/// micro-batch, sample); prefetch is bounded by the permits. The loader
/// works on its own while the steppers compute: its cost overlaps theirs.
loader_actor spawn_loader(caf::actor_system& sys, loader_config cfg);

} // namespace troupe::actors
