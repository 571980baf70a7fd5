#include "troupe/actors/coordinator.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "troupe/actors/aggregator.hpp"
#include "troupe/actors/loader.hpp"
#include "troupe/actors/stepper.hpp"
#include "troupe/core/runtime/interrupt.hpp"
#include "troupe/core/train/metric_book.hpp"
#include "troupe/core/train/reducers.hpp"
#include "troupe/messages/type_ids.hpp"

namespace troupe::actors {

namespace {

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();

enum class phase { idle, training, testing, ending, finalizing, done };

struct coordinator_state {
  static inline const char* name = "coordinator";

  coordinator_config cfg;
  core::schedule sched;
  caf::actor loader;
  caf::actor aggregator;
  std::vector<caf::actor> steppers;
  std::map<caf::actor_addr, std::string> names;
  caf::response_promise done;
  phase ph = phase::idle;

  // -- step clock ------------------------------------------------------------
  int64_t acked = 0;     ///< last step whose events and logs are complete
  int64_t permitted = 0; ///< last step the loader may produce
  int64_t last_step = 0; ///< final step: scheduled, or fixed by a stop
  bool stop_requested = false;
  bool interrupted = false;
  std::string stop_reason;
  std::map<int64_t, step_summary> summaries;
  std::map<std::pair<int32_t, int64_t>, eval_summary> evals;

  // -- the step in progress ---------------------------------------------------
  bool busy = false;
  int64_t step = 0;
  int64_t epoch = 0;
  metric_values records;
  std::vector<std::string> lines;
  int pending_replies = 0;
  /// Effects by event, then by callback.
  std::vector<std::vector<callback_effects>> replies;

  // -- metrics -----------------------------------------------------------------
  core::metric_book book{{}, 1};
  double last_loss = nan_v;
  int64_t samples = 0;         ///< samples of completed steps
  int64_t pending_samples = 0; ///< samples of the step in progress
  /// Names already sent to the logger at `logged_step`.
  int64_t logged_step = -1;
  std::set<std::string> logged_names;

  // -- logger credits --------------------------------------------------------
  int64_t in_flight = 0;
  int64_t peak_in_flight = 0;

  // -- outcome and supervision ---------------------------------------------------
  std::string status = "completed";
  std::string error;
  uint64_t progress = 0;
};

using coordinator_actor = caf::stateful_actor<coordinator_state, tapped_actor>;

void try_advance(coordinator_actor* self);
void finalize(coordinator_actor* self);

/// Sends every other actor of the fit an exit (the logger last, after what
/// it was already sent: exits queue behind earlier messages).
void stop_actors(coordinator_actor* self, bool logger) {
  auto& st = self->state;
  for (const auto& a : st.steppers)
    self->send_exit(a, caf::exit_reason::user_shutdown);
  self->send_exit(st.loader, caf::exit_reason::user_shutdown);
  self->send_exit(st.aggregator, caf::exit_reason::user_shutdown);
  for (const auto& cb : st.cfg.callbacks)
    self->send_exit(cb.second, caf::exit_reason::user_shutdown);
  if (logger)
    self->send_exit(st.cfg.logger, caf::exit_reason::user_shutdown);
}

void fail(coordinator_actor* self, std::string what) {
  auto& st = self->state;
  if (st.ph == phase::finalizing || st.ph == phase::done)
    return;
  st.status = "failed";
  if (st.error.empty())
    st.error = std::move(what);
  // Before start (a stepper failing while it sets up), the start handler
  // finalizes: the trainer must get the answer.
  if (st.ph != phase::idle)
    finalize(self);
}

int64_t credits_left(const coordinator_state& st) {
  return st.cfg.options.logger_credits - st.in_flight;
}

/// Lets the loader run up to `steps_ahead` steps past the last completed one,
/// never past the last step, and only while the logger has credits left: a
/// slow logger slows training instead of losing records.
void raise_permits(coordinator_actor* self) {
  auto& st = self->state;
  if (st.ph != phase::training || credits_left(st) <= 0)
    return;
  auto target = std::min(st.acked + st.cfg.options.steps_ahead, st.last_step);
  if (target > st.permitted) {
    st.permitted = target;
    self->send(st.loader, step_permit{target});
  }
}

void send_log(coordinator_actor* self, int64_t step, int64_t epoch,
              metric_values metrics, std::vector<std::string> lines,
              bool with_progress) {
  auto& st = self->state;
  if (metrics.empty() && lines.empty() && !with_progress)
    return;
  if (step != st.logged_step) {
    st.logged_step = step;
    st.logged_names.clear();
  }
  for (const auto& m : metrics)
    st.logged_names.insert(m.name);
  log_batch b;
  b.step = step;
  b.epoch = epoch;
  b.metrics = std::move(metrics);
  b.lines = std::move(lines);
  if (with_progress)
    b.progress = progress_info{epoch, st.sched.max_epochs, step,
                               st.last_step, st.last_loss};
  ++st.in_flight;
  st.peak_in_flight = std::max(st.peak_in_flight, st.in_flight);
  self->request(st.cfg.logger, caf::infinite, std::move(b))
    .then(
      [=](int64_t) {
        --self->state.in_flight;
        ++self->state.progress;
        raise_permits(self);
        try_advance(self);
      },
      [=](caf::error& err) {
        fail(self, "logger failed: " + self->system().render(err));
      });
}

/// Sends `event` to every callback; replies land in `replies[index]`.
template <class Event>
void dispatch(coordinator_actor* self, size_t index, const char* hook,
              const Event& event, void (*complete)(coordinator_actor*)) {
  auto& st = self->state;
  for (size_t c = 0; c < st.cfg.callbacks.size(); ++c) {
    ++st.pending_replies;
    auto cb_name = st.cfg.callbacks[c].first;
    self->request(st.cfg.callbacks[c].second, caf::infinite, event)
      .then(
        [=](callback_effects& eff) {
          auto& st = self->state;
          if (st.ph == phase::finalizing || st.ph == phase::done)
            return;
          if (!eff.error.empty())
            return fail(self, eff.error);
          st.replies[index][c] = std::move(eff);
          ++st.progress;
          if (--st.pending_replies == 0)
            complete(self);
        },
        [=](caf::error& err) {
          fail(self, fmt::format("callback '{}' failed in {}: {}", cb_name,
                                 hook, self->system().render(err)));
        });
  }
}

/// Applies the callbacks' effects in event order, then callback order.
/// Returns false (after failing the fit) when a callback logs a metric that
/// already has a point at this step: one point per metric per step.
bool apply_effects(coordinator_actor* self, int64_t step) {
  auto& st = self->state;
  std::set<std::string> names;
  if (step == st.logged_step)
    names = st.logged_names;
  for (const auto& r : st.records)
    if (!names.insert(r.name).second) {
      fail(self, fmt::format("'{}' logged twice at step {}", r.name, step));
      return false;
    }
  for (auto& per_event : st.replies) {
    for (size_t c = 0; c < per_event.size(); ++c) {
      auto& eff = per_event[c];
      for (auto& m : eff.metrics) {
        if (!names.insert(m.name).second) {
          fail(self, fmt::format("callback '{}' logged '{}' at step {}, which "
                                 "already has a point for it at that step",
                                 st.cfg.callbacks[c].first, m.name, step));
          return false;
        }
        st.records.push_back(std::move(m));
      }
      if (eff.stop && !st.stop_requested && st.ph == phase::training) {
        st.stop_requested = true;
        st.stop_reason = eff.reason;
        // A stop answered to an event of step s takes effect after step
        // s + steps_ahead - 1: exactly the steps already permitted. At
        // least one step always runs.
        auto last = std::max<int64_t>(1, step + st.cfg.options.steps_ahead - 1);
        st.last_step = std::min(st.last_step, last);
        st.lines.push_back(fmt::format("callback '{}' requested a stop at step "
                                       "{}{}; training ends after step {}",
                                       st.cfg.callbacks[c].first, step,
                                       eff.reason.empty() ? ""
                                                          : ": " + eff.reason,
                                       st.last_step));
      }
    }
  }
  st.replies.clear();
  return true;
}

// -- training steps --------------------------------------------------------------

void complete_step(coordinator_actor* self) {
  auto& st = self->state;
  auto s = st.step;
  if (!apply_effects(self, s))
    return;
  if (core::interrupt_requested() && !st.stop_requested
      && st.ph == phase::training) {
    // Ctrl-C: stop like a callback would, after the steps already permitted.
    st.stop_requested = true;
    st.interrupted = true;
    st.last_step = std::min(st.last_step, s + st.cfg.options.steps_ahead - 1);
    st.lines.push_back(fmt::format("interrupted: training ends after step {}",
                                   st.last_step));
  }
  bool progress = st.sched.is_log_step(s) || st.sched.is_epoch_end(s)
                  || s == st.last_step;
  send_log(self, s, st.epoch, std::move(st.records), std::move(st.lines),
           progress);
  st.records.clear();
  st.lines.clear();
  st.busy = false;
  st.acked = s;
  st.samples += st.pending_samples;
  st.pending_samples = 0;
  ++st.progress;
  if (st.ph != phase::training)
    return;
  raise_permits(self);
}

void begin_step(coordinator_actor* self, step_summary summary) {
  auto& st = self->state;
  auto s = summary.step;
  st.busy = true;
  st.step = s;
  st.epoch = st.sched.epoch_of(s);
  st.pending_samples = summary.samples;
  st.records.clear();
  st.replies.clear();
  const eval_summary* es = nullptr;
  auto vi = st.evals.end();
  if (st.sched.is_validation_step(s)) {
    vi = st.evals.find({static_cast<int32_t>(eval_kind::validation), s});
    es = &vi->second;
    for (auto d : es->param_digests)
      if (d != es->param_digests.front())
        return fail(self, fmt::format("replicas diverged: parameter digests "
                                      "differ after step {}",
                                      s));
  }
  auto log = st.book.add_step(summary, es != nullptr ? &es->reduced : nullptr,
                              st.sched.is_epoch_end(s));
  if (es != nullptr)
    st.evals.erase(vi);
  st.records = std::move(log.records);
  for (const auto& v : log.train)
    if (v.name == "train/loss")
      st.last_loss = v.value;
  // Events, in the documented order.
  train_step_end_event ev;
  ev.epoch = st.epoch;
  ev.step = s;
  ev.lr = summary.lr;
  ev.log_step = st.sched.is_log_step(s);
  ev.reduced = std::move(log.train);
  ev.per_replica = std::move(log.per_replica);
  std::optional<validation_end_event> val;
  if (log.validation)
    val = validation_end_event{st.epoch, s, std::move(*log.validation)};
  std::optional<epoch_end_event> epoch_end;
  if (log.epoch)
    epoch_end = epoch_end_event{st.epoch, s, std::move(*log.epoch)};
  auto events = 1 + (val ? 1 : 0) + (epoch_end ? 1 : 0);
  if (st.cfg.callbacks.empty())
    return complete_step(self);
  st.replies.assign(static_cast<size_t>(events),
                    std::vector<callback_effects>(st.cfg.callbacks.size()));
  size_t index = 0;
  // Replies arrive later: complete the step, then look for the next one.
  auto complete = [](coordinator_actor* self) {
    complete_step(self);
    try_advance(self);
  };
  dispatch(self, index++, "on_train_step_end", ev, complete);
  if (val)
    dispatch(self, index++, "on_validation_end", *val, complete);
  if (epoch_end)
    dispatch(self, index++, "on_epoch_end", *epoch_end, complete);
}

void begin_test(coordinator_actor* self);

/// Processes the next step once its summary (and its validation, when one
/// is scheduled) arrived and the logger has a credit left for its records;
/// steps never overlap and never reorder. Without credits, summaries wait
/// here (bounded by the permits) and the loader waits for permits.
void try_advance(coordinator_actor* self) {
  auto& st = self->state;
  while (st.ph == phase::training && !st.busy && credits_left(st) > 0) {
    if (st.acked >= st.last_step)
      return begin_test(self);
    auto s = st.acked + 1;
    auto i = st.summaries.find(s);
    if (i == st.summaries.end())
      return;
    if (st.sched.is_validation_step(s)
        && st.evals.count({static_cast<int32_t>(eval_kind::validation), s}) == 0)
      return;
    auto summary = std::move(i->second);
    st.summaries.erase(i);
    begin_step(self, std::move(summary));
  }
}

// -- test and end ----------------------------------------------------------------


void begin_test(coordinator_actor* self) {
  auto& st = self->state;
  st.ph = phase::testing;
  if (st.stop_requested)
    st.status = "stopped";
  eval_request req{static_cast<int32_t>(eval_kind::test), st.last_step};
  for (const auto& s : st.steppers)
    self->send(s, req);
}

void complete_fit_end(coordinator_actor* self) {
  auto& st = self->state;
  if (!apply_effects(self, st.last_step))
    return;
  send_log(self, st.last_step, st.epoch, std::move(st.records),
           std::move(st.lines), false);
  st.records.clear();
  st.lines.clear();
  finalize(self);
}

void end_fit(coordinator_actor* self, eval_summary test) {
  auto& st = self->state;
  st.ph = phase::ending;
  for (auto d : test.param_digests)
    if (d != test.param_digests.front())
      return fail(self, "replicas diverged: parameter digests differ at the "
                        "end of training");
  st.records = core::metric_book::test(test.reduced);
  fit_end_event ev{st.last_step, st.status, st.records};
  if (st.cfg.callbacks.empty())
    return complete_fit_end(self);
  st.replies.assign(1, std::vector<callback_effects>(st.cfg.callbacks.size()));
  dispatch(self, 0, "on_fit_end", ev, complete_fit_end);
}

/// The fit's outcome as far as it got (the logger adds the last values).
fit_report report_so_far(const coordinator_state& st) {
  fit_report report;
  report.status = st.status;
  report.error = st.error;
  report.global_step = st.acked;
  report.epochs = st.acked / st.sched.steps_per_epoch;
  report.samples = st.samples;
  report.peak_log_queue = st.peak_in_flight;
  report.interrupted = st.interrupted;
  if (st.interrupted && report.error.empty())
    report.error = "interrupted by a signal";
  return report;
}

/// Answers the trainer with a failure without going through the logger
/// (it is gone or stuck), stops every other actor and quits.
void abandon(coordinator_actor* self, std::string error, bool logger_alive) {
  auto& st = self->state;
  auto r = report_so_far(st);
  r.status = "failed";
  r.error = std::move(error);
  st.ph = phase::done;
  st.done.deliver(std::move(r));
  stop_actors(self, logger_alive);
  self->quit();
}

void finalize(coordinator_actor* self) {
  auto& st = self->state;
  st.ph = phase::finalizing;
  auto report = report_so_far(st);
  auto shutdown = [=](fit_report r) {
    auto& st = self->state;
    st.ph = phase::done;
    st.done.deliver(std::move(r));
    stop_actors(self, true);
    self->quit();
  };
  // A step that did not complete logs nothing; the error shows as a line.
  st.records.clear();
  if (!st.error.empty())
    st.lines.push_back("error: " + st.error);
  if (!st.lines.empty())
    send_log(self, st.acked, st.epoch, {}, std::move(st.lines), false);
  self->request(st.cfg.logger, caf::infinite, log_finish{report})
    .then([=](fit_report& r) { shutdown(std::move(r)); },
          [=](caf::error& err) {
            auto r = report;
            if (r.error.empty())
              r.error = "logger failed: " + self->system().render(err);
            r.status = "failed";
            shutdown(std::move(r));
          });
}

/// The pipeline of a training fit: aggregator, one stepper per replica (the
/// replicas and data of the configuration), loader.
pipeline_handles spawn_pipeline(coordinator_actor* self) {
  auto& st = self->state;
  auto& sys = self->system();
  pipeline_handles p;
  p.aggregator = spawn_aggregator(sys, static_cast<int32_t>(st.sched.replicas),
                                  caf::actor_cast<caf::actor>(self), st.cfg.tap);
  auto data = st.cfg.data;
  for (int64_t r = 0; r < st.sched.replicas; ++r) {
    stepper_config sc;
    sc.rank = static_cast<int32_t>(r);
    sc.seed = st.cfg.options.seed;
    sc.sched = st.sched;
    sc.module = st.cfg.replicas[static_cast<size_t>(r)];
    sc.model = st.cfg.model;
    sc.lr = st.cfg.options.lr;
    sc.momentum = st.cfg.options.momentum;
    sc.device = st.cfg.options.device;
    sc.data = data;
    sc.eval_batch_size = st.cfg.options.eval_batch_size;
    sc.export_dir = st.cfg.options.export_params;
    sc.aggregator = p.aggregator;
    sc.coordinator = caf::actor_cast<caf::actor>(self);
    sc.tap = st.cfg.tap;
    p.steppers.push_back(spawn_stepper(sys, std::move(sc)));
  }
  loader_config lc;
  lc.sched = st.sched;
  lc.train = std::shared_ptr<const core::tensor_dataset>(data, &data->train);
  lc.seed = st.cfg.options.seed;
  lc.shuffle = st.cfg.options.shuffle;
  lc.augment = core::parse_augment(st.cfg.options.augment);
  lc.steppers = p.steppers;
  lc.tap = st.cfg.tap;
  p.loader = spawn_loader(sys, std::move(lc));
  return p;
}

caf::behavior coordinator(coordinator_actor* self, coordinator_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.sched = st.cfg.sched;
  st.last_step = st.sched.total_steps;
  st.book = core::metric_book{st.cfg.options.reduce,
                              st.cfg.options.log_every_n_steps};
  // Spawn (or adopt) and watch the pipeline: aggregator, one stepper per
  // replica, loader.
  self->tap("coordinator", st.cfg.tap);
  auto p = st.cfg.pipeline ? *st.cfg.pipeline : spawn_pipeline(self);
  auto watch = [&](const std::string& name, const caf::actor& a) {
    self->monitor(a);
    st.names[a.address()] = name;
    if (st.cfg.on_spawn)
      st.cfg.on_spawn(name, a);
  };
  st.aggregator = p.aggregator;
  watch("aggregator", st.aggregator);
  st.steppers = p.steppers;
  for (size_t r = 0; r < st.steppers.size(); ++r)
    watch(fmt::format("stepper[{}]", r), st.steppers[r]);
  st.loader = p.loader;
  watch("loader", st.loader);
  self->monitor(st.cfg.logger);
  st.names[st.cfg.logger.address()] = "logger";
  for (const auto& cb : st.cfg.callbacks) {
    self->monitor(cb.second);
    st.names[cb.second.address()] = "callback '" + cb.first + "'";
  }
  // A bug in a handler must not leave the pipeline running (the actor
  // system would wait for it forever): close the logs, answer the trainer
  // and take every actor down before this one terminates.
  self->set_exception_handler([=](std::exception_ptr& ep) -> caf::error {
    auto& st = self->state;
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    auto r = report_so_far(st);
    r.status = "failed";
    r.error = "coordinator: " + what;
    if (st.ph != phase::done) {
      st.ph = phase::done;
      self->send(st.cfg.logger, log_finish{r});
      st.done.deliver(r);
      stop_actors(self, true);
    }
    return caf::make_error(caf::sec::runtime_error, what);
  });
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.ph == phase::done)
      return;
    auto i = st.names.find(dm.source);
    auto who = i != st.names.end() ? i->second : std::string{"an actor"};
    if (who == "logger") {
      // Nothing can be written any more; answer the trainer directly.
      return abandon(self,
                     "logger terminated: " + self->system().render(dm.reason),
                     false);
    }
    fail(self, fmt::format("{} terminated unexpectedly ({}) while training "
                           "was at step {}",
                           who, self->system().render(dm.reason), st.acked));
  });
  return {
    [=](start_atom) -> caf::result<fit_report> {
      auto& st = self->state;
      if (st.ph != phase::idle)
        return caf::make_error(caf::sec::runtime_error,
                               "coordinator: start received twice");
      st.done = self->make_response_promise();
      if (!st.error.empty()) {
        finalize(self);
        return st.done;
      }
      st.ph = phase::training;
      self->request(st.cfg.logger, caf::infinite,
                    log_start{st.cfg.config_json, st.cfg.start_lines})
        .then([](bool) {},
              [=](caf::error& err) {
                fail(self, "logger could not start: "
                             + self->system().render(err));
              });
      auto timeout = std::chrono::duration<double>(st.cfg.options.timeout_seconds);
      self->delayed_send(self,
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                           timeout),
                         watchdog_atom_v, st.progress);
      if (st.cfg.callbacks.empty()) {
        raise_permits(self);
      } else {
        st.busy = true;
        st.step = 0;
        st.replies.assign(1, std::vector<callback_effects>(
                               st.cfg.callbacks.size()));
        dispatch(self, 0, "on_fit_start",
                 fit_start_event{st.sched.total_steps, st.sched.steps_per_epoch,
                                 st.sched.max_epochs},
                 [](coordinator_actor* self) {
                   auto& st = self->state;
                   if (!apply_effects(self, 0))
                     return;
                   send_log(self, 0, 0, std::move(st.records),
                            std::move(st.lines), false);
                   st.records.clear();
                   st.lines.clear();
                   st.busy = false;
                   raise_permits(self);
                   try_advance(self);
                 });
      }
      return st.done;
    },
    [=](step_summary& s) {
      auto& st = self->state;
      ++st.progress;
      if (s.step <= st.acked || st.summaries.count(s.step) > 0)
        return fail(self, fmt::format("step summary for step {} arrived twice "
                                      "or late",
                                      s.step));
      st.summaries.emplace(s.step, std::move(s));
      try_advance(self);
    },
    [=](eval_summary& e) {
      auto& st = self->state;
      ++st.progress;
      if (e.kind == static_cast<int32_t>(eval_kind::test)) {
        if (st.ph == phase::testing)
          end_fit(self, std::move(e));
        return;
      }
      st.evals.emplace(std::make_pair(e.kind, e.step), std::move(e));
      try_advance(self);
    },
    [=](const actor_failure& f) {
      fail(self, fmt::format("{} failed at step {}: {}", f.actor, f.step,
                             f.what));
    },
    [=](watchdog_atom, uint64_t seen) {
      auto& st = self->state;
      if (st.ph == phase::done)
        return;
      if (seen == st.progress && st.ph == phase::finalizing) {
        // The logger did not close its sinks in time: answer the trainer
        // without it rather than wait forever.
        return abandon(self,
                       fmt::format("{}{}the logger did not finish within {} s",
                                   st.error, st.error.empty() ? "" : "; ",
                                   st.cfg.options.timeout_seconds),
                       true);
      }
      if (seen == st.progress) {
        fail(self, fmt::format("no progress for {} s (training at step {}, "
                               "waiting for step {})",
                               st.cfg.options.timeout_seconds, st.acked,
                               st.acked + 1));
        // Re-armed below: finalizing has a deadline too.
      }
      auto timeout = std::chrono::duration<double>(st.cfg.options.timeout_seconds);
      self->delayed_send(self,
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                           timeout),
                         watchdog_atom_v, st.progress);
    },
  };
}

} // namespace

caf::actor spawn_coordinator(caf::actor_system& sys, coordinator_config cfg) {
  if (cfg.pipeline
      && static_cast<int64_t>(cfg.pipeline->steppers.size()) != cfg.sched.replicas)
    throw std::invalid_argument(
      fmt::format("coordinator: {} steppers given for {} replicas",
                  cfg.pipeline->steppers.size(), cfg.sched.replicas));
  return sys.spawn(coordinator, std::move(cfg));
}

} // namespace troupe::actors
