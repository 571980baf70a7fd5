#pragma once

// Every role of a fit as a typed actor interface, declared once: the
// protocol is something the compiler checks. Each handler says who sends it
// and what it answers. Shared protocols are composed with `extend_with`.
//
//  loader ──step_batch──▶ stepper[r] ──contribution (request)──▶ aggregator
//                            ▲                                      │
//                            └──────reduced_gradient (its answer)───┤
//                                                                   ▼
//  callback ◀──events (requests)── coordinator ◀──step_summary, eval_summary
//     └─────callback_effects──────▶    │
//                                      └──log_* (requests)──▶ logger
//
//  stepper[r], coordinator (+ callbacks' states), logger
//     ──checkpoint_part──▶ checkpointer ──▶ <checkpoint-dir>/step-N.ckpt

#include <cstdint>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "troupe/messages/type_ids.hpp"

namespace troupe::actors {

// -- the coordinator's client side --------------------------------------------

/// Where any pipeline actor reports what ends the fit (the coordinator).
using failure_sink_actor = caf::typed_actor<
  /// From the loader, a stepper or the aggregator: an error naming the actor
  /// and the step. The coordinator fails the fit with it.
  caf::reacts_to<actor_failure>>;

/// The coordinator as the aggregator sees it.
using summary_sink_actor = failure_sink_actor::extend<
  /// From the aggregator: optimizer step `step` reduced over every replica.
  caf::reacts_to<step_summary>,
  /// From the aggregator: a validation or the test evaluation, reduced.
  caf::reacts_to<eval_summary>>;

// -- roles --------------------------------------------------------------------

/// The loader: produces the micro-batches of permitted steps.
using loader_actor = caf::typed_actor<
  /// From the coordinator: produce every step up to `last_step`, for every
  /// rank, in step order.
  caf::reacts_to<step_permit>>;

/// A stepper: one model replica and its optimizer.
using stepper_actor = caf::typed_actor<
  /// From the loader: the micro-batches of one step for this rank. The
  /// stepper runs them and asks the aggregator with its contribution.
  caf::reacts_to<step_batch>,
  /// From the coordinator: run the test evaluation after the last step.
  caf::reacts_to<eval_request>,
  /// From the coordinator at the last step: send the checkpointer this
  /// replica's share of the checkpoint of that step (once it is applied).
  /// At periodic checkpoint steps the stepper sends it unasked.
  caf::reacts_to<checkpoint_request>>;

/// The aggregator: reduces every replica's contribution in rank order.
using aggregator_actor = caf::typed_actor<
  /// From stepper[r]: its gradient and metric sums of one step. Answered,
  /// once every rank's contribution arrived, with the rank-ordered sum (to
  /// every stepper, in rank order); then the step's summary goes to the
  /// coordinator.
  caf::replies_to<contribution>::with<reduced_gradient>,
  /// From stepper[r]: its share of a validation or test evaluation; the
  /// reduced `eval_summary` goes to the coordinator.
  caf::reacts_to<eval_contribution>>;

/// A callback host: one callback, private state, answers events only.
using callback_actor = caf::typed_actor<
  /// From the coordinator, each answered with the callback's effects
  /// (metrics to log at the event's step, a stop request; `error` set when
  /// the callback threw). The order of events: messages/callbacks.hpp.
  caf::replies_to<fit_start_event>::with<callback_effects>,
  caf::replies_to<train_step_end_event>::with<callback_effects>,
  caf::replies_to<validation_end_event>::with<callback_effects>,
  caf::replies_to<epoch_end_event>::with<callback_effects>,
  caf::replies_to<fit_end_event>::with<callback_effects>,
  /// From the coordinator, right after the callback answered the events of
  /// that step: the callback's state (callback::save_state).
  caf::replies_to<checkpoint_request>::with<std::string>>;

/// The logger: the only writer of sinks; its one client is the coordinator.
using logger_actor = caf::typed_actor<
  /// First: writes config.json and starts the sinks; answers true.
  caf::replies_to<log_start>::with<bool>,
  /// The records of one step, in order; answers the step (a credit).
  caf::replies_to<log_batch>::with<int64_t>,
  /// Last: closes the sinks, writes summary.json (and report.html); answers
  /// the report with the last value of every metric.
  caf::replies_to<log_finish>::with<fit_report>,
  /// From the console capture's reader thread: captured output is waiting
  /// (core/runtime/console_capture.hpp); the logger prints it.
  caf::reacts_to<console_atom>,
  /// From the coordinator, right after the log batch of that step: where
  /// every sink stands (core::sink::position), the checkpoint's share that
  /// lets a resumed run cut the records written after it.
  caf::replies_to<checkpoint_request>::with<checkpoint_part>>;

/// The checkpointer: assembles and writes checkpoints off the critical
/// path (a detached actor: disk syncs block only it).
using checkpointer_actor = caf::typed_actor<
  /// From the steppers, the coordinator (its own share and each
  /// callback's) and the logger: a share of the checkpoint of a step. Once
  /// every share of that step is in, the file is written.
  caf::reacts_to<checkpoint_part>,
  /// From the coordinator at the end: answered once the checkpoint of that
  /// step is written or failed, with one line per checkpoint that could not
  /// be written (lost outputs, like a failed sink's).
  caf::replies_to<checkpoint_flush>::with<std::vector<std::string>>>;

/// The coordinator: the single sequencer and supervisor.
using coordinator_actor = summary_sink_actor::extend<
  /// From the trainer: run the fit; answered with its report at the end.
  caf::replies_to<start_atom>::with<fit_report>,
  /// From itself (the watchdog timer), with the progress count it saw.
  caf::reacts_to<watchdog_atom, uint64_t>,
  /// From the trainer's signal watcher: SIGINT or SIGTERM arrived; stop at
  /// the next point the fit can.
  caf::reacts_to<interrupt_atom>>;

} // namespace troupe::actors
