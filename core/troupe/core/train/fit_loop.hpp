#pragma once

// The fit's sequencing as plain C++, without actors: a `fit_state` value and
// a `fit_loop` that takes inputs (a step summary arrived, a callback answered,
// the logger took a batch, an interrupt, a failure, ...) and returns commands
// (permit the loader up to step k, send this event to every callback, send
// this log batch, run the test, close the logs, answer the trainer). The
// coordinator actor only turns messages into inputs and commands into
// messages; `troupe-trace render` feeds the same loop a recorded run.
//
// The rules it holds (DESIGN.md, "the step contract"):
// - steps complete one at a time, in step order: step s is processed once
//   its summary (and, at a validation step, its validation) arrived and the
//   logger has a credit left;
// - the loader is never permitted more than `steps_ahead` steps past the
//   last completed step, nor past the last step;
// - per step, events go out in the order of messages/callbacks.hpp, and the
//   callbacks' effects apply in event order, then in the order the callbacks
//   were added; one point per metric per logged step;
// - a stop answered to an event of step s, or an interrupt seen while step s
//   completes, makes max(1, s + steps_ahead - 1) the last step (the steps
//   already permitted), never later than scheduled;
// - with checkpoints on, the checkpoint of step s is asked for when step s
//   completes (every N-th step) and when training ends (the last step);
//   after a signal the test pass is skipped.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "troupe/core/train/metric_book.hpp"
#include "troupe/core/train/schedule.hpp"
#include "troupe/messages/callbacks.hpp"
#include "troupe/messages/logging.hpp"
#include "troupe/messages/step.hpp"

namespace troupe::core {

// -- state --------------------------------------------------------------------

/// What the fit loop needs to continue after optimizer step `step` as if it
/// had never stopped: the part of fit_state a checkpoint keeps.
struct fit_resume {
  int64_t step = 0;
  /// The last step as scheduled or fixed by a callback's stop (a signal's
  /// stop is not kept: the resumed run goes on).
  int64_t last_step = 0;
  bool stop_requested = false;
  std::string stop_reason;
  metric_book book;
  double last_loss = std::numeric_limits<double>::quiet_NaN();
  int64_t samples = 0;
  int64_t logged_step = -1;
  std::vector<std::string> logged_names;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fit_resume& x) {
  return f(caf::meta::type_name("fit_resume"), x.step, x.last_step,
           x.stop_requested, x.stop_reason, x.book, x.last_loss, x.samples,
           x.logged_step, x.logged_names);
}

/// Where a fit stands.
enum class fit_phase : int32_t {
  idle,       ///< not started
  training,   ///< optimizer steps
  testing,    ///< waiting for the test evaluation
  ending,     ///< the callbacks answer on_fit_end
  finalizing, ///< the logger closes its sinks
  done,       ///< the trainer has its answer
};

std::string to_string(fit_phase x);

/// Which events the callbacks are answering.
enum class event_group : int32_t { none, fit_start, step, fit_end };

std::string to_string(event_group x);

/// Everything the fit loop knows, as a value: serializable with the
/// messages (`inspect`) and restorable.
struct fit_state {
  fit_phase phase = fit_phase::idle;

  // -- step clock -------------------------------------------------------------
  int64_t acked = 0;     ///< last step whose events and logs are complete
  int64_t permitted = 0; ///< last step the loader may produce
  int64_t last_step = 0; ///< final step: scheduled, or fixed by a stop
  /// The last step as scheduled or fixed by a callback or stop_at, not by
  /// a signal (what a checkpoint keeps).
  int64_t planned_last = 0;
  /// The step of the newest checkpoint asked for (-1: none).
  int64_t checkpointed = -1;
  bool stop_requested = false;
  bool callback_stopped = false; ///< the stop came from a callback
  std::string stop_reason;
  bool interrupt_pending = false; ///< a signal arrived; acted on at a step end
  bool interrupted = false;       ///< the stop came from a signal
  /// Step summaries and validations that arrived ahead of their turn.
  std::map<int64_t, step_summary> summaries;
  std::map<int64_t, eval_summary> validations;

  // -- the step (or fit start / fit end) in progress --------------------------
  bool busy = false;
  event_group group = event_group::none;
  int64_t step = 0;
  int64_t epoch = 0;
  metric_values records;
  std::vector<std::string> lines;
  int64_t pending_replies = 0;
  /// Effects by event of the group, then by callback.
  std::vector<std::vector<callback_effects>> replies;

  // -- metrics ----------------------------------------------------------------
  metric_book book;
  /// Last train/loss, NaN before the first step.
  double last_loss = std::numeric_limits<double>::quiet_NaN();
  int64_t samples = 0;         ///< samples of completed steps
  int64_t pending_samples = 0; ///< samples of the step in progress
  /// Names already sent to the logger at `logged_step`.
  int64_t logged_step = -1;
  std::vector<std::string> logged_names;

  // -- logger credits ---------------------------------------------------------
  int64_t in_flight = 0;
  int64_t peak_in_flight = 0;

  // -- outcome ----------------------------------------------------------------
  fit_status status = fit_status::completed;
  std::string error;
  /// Bumped by every input that moves the fit on (the watchdog reads it).
  uint64_t progress = 0;
  /// The report sent with `close_log`.
  fit_report final_report;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fit_state& x) {
  return f(caf::meta::type_name("fit_state"), x.phase, x.acked, x.permitted,
           x.last_step, x.planned_last, x.checkpointed, x.stop_requested,
           x.callback_stopped, x.stop_reason, x.interrupt_pending,
           x.interrupted, x.summaries, x.validations, x.busy, x.group, x.step,
           x.epoch, x.records, x.lines, x.pending_replies, x.replies, x.book,
           x.last_loss, x.samples, x.pending_samples, x.logged_step,
           x.logged_names, x.in_flight, x.peak_in_flight, x.status, x.error,
           x.progress, x.final_report);
}

/// A fit_resume as a checkpoint's "fit" section, and back (throws
/// data_error naming `file` when the bytes do not decode).
std::string encode_fit_resume(const fit_resume& r);
fit_resume decode_fit_resume(const std::string& bytes, const std::string& file);

// -- commands -----------------------------------------------------------------

/// Send the logger `log_start` (the configuration and the start lines).
struct open_log {};

/// Let the loader produce every step up to `last_step`.
struct permit_loader {
  int64_t last_step = 0;
};

/// Send `event` to every callback, in the order they were added; answer
/// each reply with `callback_answered(index, callback, effects)`.
struct send_event {
  size_t index = 0; ///< the event's place in its group
  const char* hook = "";
  std::variant<fit_start_event, train_step_end_event, validation_end_event,
               epoch_end_event, fit_end_event>
    event;
};

/// Send the logger this batch; answer its reply with `logged()`.
struct send_log {
  log_batch batch;
};

/// Ask every stepper for the test evaluation.
struct run_test {
  eval_request request;
};

/// Send the logger `log_finish`; answer with `closed` or `close_failed`.
struct close_log {
  fit_report report;
};

/// Deliver `report` to the trainer, stop every actor of the fit (the logger
/// too when `logger_alive`) and quit.
struct answer_trainer {
  fit_report report;
  bool logger_alive = true;
};

/// Gather the checkpoint of step `step`: `state` is the loop's share; ask
/// every callback and the logger for theirs, and the steppers too when
/// `ask_steppers` (at a periodic checkpoint step they send theirs unasked,
/// right after applying the step).
struct save_checkpoint {
  int64_t step = 0;
  fit_resume state;
  bool ask_steppers = false;
  /// Written whatever its score: a periodic step or the last one; else
  /// only when `score` ranks among the best.
  bool always = true;
  /// The monitored metric at a validation step (lower is better: negated
  /// for --checkpoint-mode=max); unset: not a candidate.
  std::optional<double> score;
};

using fit_command
  = std::variant<open_log, permit_loader, send_event, send_log, run_test,
                 close_log, answer_trainer, save_checkpoint>;

using fit_commands = std::vector<fit_command>;

// -- the loop -----------------------------------------------------------------

struct fit_loop_config {
  schedule sched;
  /// Steps the loader may run ahead of the last completed step (>= 1).
  int64_t steps_ahead = 2;
  /// Log batches in flight before the loop waits for the logger.
  int64_t logger_credits = 64;
  std::map<std::string, reduction_spec> reduce;
  /// The callbacks' names, in the order their effects apply.
  std::vector<std::string> callbacks;
  /// For the watchdog's messages.
  double timeout_seconds = 600;
  /// Whether checkpoints are written: after every step that
  /// is_periodic_checkpoint(step, checkpoint_every) says, and after the
  /// last step (the end of training, a stop or a signal).
  bool checkpoints = false;
  int64_t checkpoint_every = 0;
  /// --checkpoint-monitor: every validation step is a checkpoint candidate
  /// scored by this metric (kept if among the best; `maximize` picks the
  /// highest); empty: none.
  std::string monitor;
  bool maximize = false;
  /// Continue from this checkpoint instead of starting at step 0 (no
  /// on_fit_start: the callbacks' states were loaded with theirs).
  std::optional<fit_resume> resume;
  /// --on-nonfinite-loss=skip-step: log train/skipped_steps, say which steps
  /// were skipped.
  bool skip_nonfinite = false;
};

/// Whether the steppers checkpoint step `step` unasked: every `every`-th
/// step (0: none).
inline bool is_periodic_checkpoint(int64_t step, int64_t every) {
  return every > 0 && step % every == 0;
}

/// Whether the steppers send their share of step `step` unasked: periodic
/// steps, and validation steps when a metric is monitored.
inline bool steppers_checkpoint(const schedule& sched, int64_t step,
                                int64_t every, bool monitored) {
  return is_periodic_checkpoint(step, every)
    || (monitored && sched.is_validation_step(step));
}

class fit_loop {
public:
  explicit fit_loop(fit_loop_config cfg);

  const fit_loop_config& config() const noexcept {
    return cfg_;
  }

  const fit_state& state() const noexcept {
    return st_;
  }

  /// Replaces the state (a restored or replayed fit).
  void restore(fit_state st) {
    st_ = std::move(st);
  }

  // -- inputs -----------------------------------------------------------------

  /// The trainer asked for the fit. Call once, in phase idle.
  fit_commands start();

  /// The aggregator reduced a step.
  fit_commands step_arrived(step_summary s);

  /// The aggregator reduced a validation or the test evaluation.
  fit_commands eval_arrived(eval_summary e);

  /// Callback `callback` answered event `index` of the current group.
  fit_commands callback_answered(size_t index, size_t callback,
                                 callback_effects eff);

  /// A request to a callback failed (`error` rendered by the caller).
  fit_commands callback_failed(size_t callback, const std::string& hook,
                               const std::string& error);

  /// The logger took a log batch: a credit comes back.
  fit_commands logged();

  /// The logger refused `log_start` or a batch.
  fit_commands logger_failed(const std::string& what);

  /// The logger closed its sinks and answered `log_finish`.
  fit_commands closed(fit_report report);

  /// The logger did not answer `log_finish`.
  fit_commands close_failed(const std::string& error);

  /// SIGINT or SIGTERM: the fit ends after the steps already permitted when
  /// the current step completes.
  fit_commands interrupt();

  /// Training stops after step `last` at the latest (e.g. the recorded end
  /// of a run rendered offline, or a peer's decision).
  fit_commands stop_at(int64_t last, std::string reason);

  /// An actor of the pipeline reported a failure, or something else ended
  /// the fit (`what` is the error shown).
  fit_commands fail(std::string what);

  /// The actor named `who` terminated (`reason` rendered by the caller).
  fit_commands actor_down(const std::string& who, const std::string& reason);

  /// The watchdog fired with the progress counter it saw when armed.
  fit_commands watchdog(uint64_t seen);

  /// An exception escaped the coordinator: the report to send the logger
  /// (one-way) and the trainer, unless the trainer was already answered.
  std::optional<fit_report> crash(const std::string& what);

  // -- queries ----------------------------------------------------------------

  /// The fit's outcome as far as it got (the logger adds the last values).
  fit_report report_so_far() const;

  bool done() const noexcept {
    return st_.phase == fit_phase::done;
  }

private:
  int64_t credits_left() const noexcept;
  void raise_permits();
  void emit_log(int64_t step, int64_t epoch, metric_values metrics,
                std::vector<std::string> lines, bool with_progress);
  template <class Event>
  void dispatch(size_t index, const char* hook, Event event);
  void begin_group(event_group g, size_t events);
  void complete_group();
  bool apply_effects(int64_t step);
  void complete_fit_start();
  void complete_step();
  void begin_step(step_summary summary);
  void try_advance();
  void begin_test();
  void end_fit(eval_summary test);
  void complete_fit_end();
  void finalize();
  void checkpoint(int64_t step, bool ask_steppers, bool always = true,
                  std::optional<double> score = {});
  void abandon(std::string error, bool logger_alive);
  void do_fail(std::string what);
  fit_commands take();

  fit_loop_config cfg_;
  fit_state st_;
  fit_commands out_;
};

} // namespace troupe::core
