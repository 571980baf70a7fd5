#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "troupe/actors/actors.hpp"
#include "troupe/actors/tap.hpp"
#include "troupe/core/logging/sinks.hpp"
#include "troupe/core/runtime/console_capture.hpp"

namespace troupe::actors {

struct logger_config {
  /// config.json and summary.json go here.
  std::string run_dir;
  /// Every sink; the logger is their only user.
  std::shared_ptr<std::vector<std::unique_ptr<core::sink>>> sinks;
  /// Where a failing sink is reported (once, with its path).
  FILE* errors = stderr;
  /// Write report.html after summary.json.
  bool report = false;
  /// Output captured from fds 1 and 2 during the fit (null: none): the
  /// logger prints it through the sinks' line() and console.log, and stops
  /// the capture at log_finish before closing the sinks.
  std::shared_ptr<core::console_capture> capture;
  /// A resumed run: the sinks continue their files (no hyperparameters
  /// again), console.log is cut back to `console_log_from` bytes (the
  /// checkpoint's; -1: started anew) and continued.
  bool resumed = false;
  int64_t console_log_from = -1;
  /// The last value of every metric up to the checkpoint, for summary.json
  /// ("NAME\tVALUE" lines, as the logger's checkpoint share holds them).
  std::string last_values;
  inbound_tap tap;
};

/// Spawns the logger on a thread of its own (sink I/O never stalls the
/// pipeline). It answers `log_start` (writes config.json), `log_batch`
/// (hands each record to each sink exactly once; answers with the step, the
/// coordinator's credit) and `log_finish` (closes the sinks, writes
/// summary.json atomically, then report.html when asked; answers with the
/// report, last values filled). A
/// sink that throws is reported once and dropped; the others keep going.
/// Every text line it prints (the start lines, the fit's and callbacks'
/// lines, captured output) also goes to <run-dir>/console.log.
logger_actor spawn_logger(caf::actor_system& sys, logger_config cfg,
                          bool detached = true);

} // namespace troupe::actors
