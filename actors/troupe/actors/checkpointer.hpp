#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include <caf/actor_system.hpp>

#include "troupe/actors/actors.hpp"
#include "troupe/actors/tap.hpp"

namespace troupe::actors {

struct checkpointer_config {
  /// Where the files go (core::write_checkpoint).
  std::string dir;
  /// Files kept: the newest K (0: every one), and the `top_k` best by
  /// their score (see core::checkpoint_retention; `<dir>/best` lists them).
  int64_t keep = 0;
  int64_t top_k = 1;
  /// A resumed fit: the best checkpoints as its checkpoint listed them
  /// (its "best" section); otherwise those `<dir>/best` lists.
  std::optional<std::string> resumed_best;
  /// Shares that make one step's checkpoint: one per stepper, the
  /// coordinator's, one per callback and the logger's.
  int64_t parts = 1;
  /// Where a checkpoint that cannot be written is reported when it happens.
  FILE* errors = stderr;
  inbound_tap tap;
};

/// Spawns the checkpointer on a thread of its own. It collects the shares
/// of each step's checkpoint (`checkpoint_part`, in any order and
/// interleaved with other steps'), writes the file atomically once all of
/// them are in, points `last` at it and keeps the newest `keep` files. A
/// write that fails (a full disk) is an output lost, like a failed sink's:
/// reported at once and in the answer to `checkpoint_flush`, training goes
/// on, the files written before stay usable and `last` keeps naming the
/// newest whole one. Leftover temporary files of a killed run are removed
/// when it starts.
checkpointer_actor spawn_checkpointer(caf::actor_system& sys,
                                      checkpointer_config cfg);

} // namespace troupe::actors
