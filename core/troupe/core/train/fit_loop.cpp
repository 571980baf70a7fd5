#include "troupe/core/train/fit_loop.hpp"

#include <algorithm>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <fmt/format.h>

#include "troupe/core/train/metric_names.hpp"
#include "troupe/core/util/errors.hpp"

namespace troupe::core {

std::string to_string(fit_phase x) {
  switch (x) {
    case fit_phase::idle:
      return "idle";
    case fit_phase::training:
      return "training";
    case fit_phase::testing:
      return "testing";
    case fit_phase::ending:
      return "ending";
    case fit_phase::finalizing:
      return "finalizing";
    case fit_phase::done:
      return "done";
  }
  return "?";
}

std::string to_string(event_group x) {
  switch (x) {
    case event_group::none:
      return "none";
    case event_group::fit_start:
      return "fit_start";
    case event_group::step:
      return "step";
    case event_group::fit_end:
      return "fit_end";
  }
  return "?";
}

std::string encode_fit_resume(const fit_resume& r) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  if (auto err = sink(const_cast<fit_resume&>(r)))
    throw std::runtime_error("cannot encode the fit's state");
  return {buf.begin(), buf.end()};
}

fit_resume decode_fit_resume(const std::string& bytes,
                             const std::string& file) {
  fit_resume r;
  caf::binary_deserializer source{nullptr, bytes.data(), bytes.size()};
  if (auto err = source(r); err || source.remaining() != 0)
    throw data_error(file, "the fit's state does not decode");
  return r;
}

fit_loop::fit_loop(fit_loop_config cfg) : cfg_(std::move(cfg)) {
  st_.last_step = cfg_.sched.total_steps;
  st_.planned_last = st_.last_step;
  st_.book = metric_book{cfg_.reduce, cfg_.sched.log_every,
                         cfg_.skip_nonfinite};
}

fit_commands fit_loop::take() {
  auto out = std::move(out_);
  out_.clear();
  return out;
}

// -- inputs -------------------------------------------------------------------

fit_commands fit_loop::start() {
  if (!st_.error.empty()) {
    // Something failed before the start (a stepper setting up).
    finalize();
    return take();
  }
  st_.phase = fit_phase::training;
  out_.emplace_back(open_log{});
  if (cfg_.resume) {
    // The checkpoint's step is complete: its records are written, the
    // callbacks have their state back, the loader starts after it.
    auto& r = *cfg_.resume;
    st_.acked = r.step;
    st_.permitted = r.step;
    st_.epoch = r.step > 0 ? cfg_.sched.epoch_of(r.step) : 0;
    st_.last_step = std::min(r.last_step, cfg_.sched.total_steps);
    st_.planned_last = st_.last_step;
    st_.stop_requested = r.stop_requested;
    st_.callback_stopped = r.stop_requested;
    st_.stop_reason = r.stop_reason;
    st_.book = r.book;
    st_.last_loss = r.last_loss;
    st_.samples = r.samples;
    st_.logged_step = r.logged_step;
    st_.logged_names = r.logged_names;
    st_.checkpointed = r.step;
    raise_permits();
    try_advance();
  } else if (cfg_.callbacks.empty()) {
    raise_permits();
  } else {
    st_.busy = true;
    st_.step = 0;
    begin_group(event_group::fit_start, 1);
    dispatch(0, "on_fit_start",
             fit_start_event{cfg_.sched.total_steps, cfg_.sched.steps_per_epoch,
                             cfg_.sched.max_epochs});
  }
  return take();
}

fit_commands fit_loop::step_arrived(step_summary s) {
  ++st_.progress;
  if (s.step <= st_.acked || st_.summaries.count(s.step) > 0) {
    do_fail(
      fmt::format("step summary for step {} arrived twice or late", s.step));
    return take();
  }
  auto step = s.step;
  st_.summaries.emplace(step, std::move(s));
  try_advance();
  return take();
}

fit_commands fit_loop::eval_arrived(eval_summary e) {
  ++st_.progress;
  if (e.kind == eval_kind::test) {
    if (st_.phase == fit_phase::testing)
      end_fit(std::move(e));
    return take();
  }
  auto step = e.step;
  st_.validations.emplace(step, std::move(e));
  try_advance();
  return take();
}

fit_commands fit_loop::callback_answered(size_t index, size_t callback,
                                         callback_effects eff) {
  if (st_.phase == fit_phase::finalizing || st_.phase == fit_phase::done)
    return take();
  if (!eff.error.empty()) {
    do_fail(eff.error);
    return take();
  }
  st_.replies.at(index).at(callback) = std::move(eff);
  ++st_.progress;
  if (--st_.pending_replies == 0)
    complete_group();
  return take();
}

fit_commands fit_loop::callback_failed(size_t callback, const std::string& hook,
                                       const std::string& error) {
  do_fail(fmt::format("callback '{}' failed in {}: {}",
                      cfg_.callbacks.at(callback), hook, error));
  return take();
}

fit_commands fit_loop::logged() {
  --st_.in_flight;
  ++st_.progress;
  raise_permits();
  try_advance();
  return take();
}

fit_commands fit_loop::logger_failed(const std::string& what) {
  do_fail(what);
  return take();
}

fit_commands fit_loop::closed(fit_report report) {
  st_.phase = fit_phase::done;
  out_.emplace_back(answer_trainer{std::move(report), true});
  return take();
}

fit_commands fit_loop::close_failed(const std::string& error) {
  auto r = st_.final_report;
  if (r.error.empty())
    r.error = "logger failed: " + error;
  r.status = fit_status::failed;
  st_.phase = fit_phase::done;
  out_.emplace_back(answer_trainer{std::move(r), true});
  return take();
}

fit_commands fit_loop::interrupt() {
  ++st_.progress;
  if (st_.phase == fit_phase::testing && !st_.interrupted) {
    // The test pass is the one phase without step ends: skip it (its
    // answer, when it comes, is ignored) and end the fit now.
    st_.interrupted = true;
    st_.stop_requested = true;
    st_.status = fit_status::stopped;
    st_.lines.push_back("interrupted: the test pass is skipped");
    end_fit({});
    return take();
  }
  st_.interrupt_pending = true;
  return take();
}

fit_commands fit_loop::stop_at(int64_t last, std::string reason) {
  if (st_.phase == fit_phase::training && last < st_.last_step) {
    st_.stop_requested = true;
    st_.stop_reason = std::move(reason);
    st_.last_step = std::max(last, st_.acked);
    st_.planned_last = std::min(st_.planned_last, st_.last_step);
    try_advance();
  }
  return take();
}

fit_commands fit_loop::fail(std::string what) {
  do_fail(std::move(what));
  return take();
}

fit_commands fit_loop::actor_down(const std::string& who,
                                  const std::string& reason) {
  if (st_.phase == fit_phase::done)
    return take();
  if (who == "logger") {
    // Nothing can be written any more; answer the trainer directly.
    abandon("logger terminated: " + reason, false);
    return take();
  }
  do_fail(fmt::format("{} terminated unexpectedly ({}) while training was at "
                      "step {}",
                      who, reason, st_.acked));
  return take();
}

fit_commands fit_loop::watchdog(uint64_t seen) {
  if (st_.phase == fit_phase::done || seen != st_.progress)
    return take();
  if (st_.phase == fit_phase::finalizing) {
    // The logger did not close its sinks in time: answer the trainer
    // without it rather than wait forever.
    abandon(fmt::format("{}{}the logger did not finish within {} s", st_.error,
                        st_.error.empty() ? "" : "; ", cfg_.timeout_seconds),
            true);
    return take();
  }
  do_fail(fmt::format("no progress for {} s (training at step {}, waiting for "
                      "step {})",
                      cfg_.timeout_seconds, st_.acked, st_.acked + 1));
  return take();
}

std::optional<fit_report> fit_loop::crash(const std::string& what) {
  if (st_.phase == fit_phase::done)
    return std::nullopt;
  auto r = report_so_far();
  r.status = fit_status::failed;
  r.error = "coordinator: " + what;
  st_.phase = fit_phase::done;
  return r;
}

fit_report fit_loop::report_so_far() const {
  fit_report report;
  report.status = st_.status;
  report.error = st_.error;
  report.global_step = st_.acked;
  report.epochs = st_.acked / cfg_.sched.steps_per_epoch;
  report.samples = st_.samples;
  report.peak_log_queue = st_.peak_in_flight;
  report.interrupted = st_.interrupted;
  if (st_.interrupted && report.error.empty())
    report.error = "interrupted by a signal";
  return report;
}

// -- flow control -------------------------------------------------------------

int64_t fit_loop::credits_left() const noexcept {
  return cfg_.logger_credits - st_.in_flight;
}

/// Lets the loader run up to `steps_ahead` steps past the last completed one,
/// never past the last step, and only while the logger has credits left: a
/// slow logger slows training instead of losing records.
void fit_loop::raise_permits() {
  if (st_.phase != fit_phase::training || credits_left() <= 0)
    return;
  auto target = std::min(st_.acked + cfg_.steps_ahead, st_.last_step);
  if (target > st_.permitted) {
    st_.permitted = target;
    out_.emplace_back(permit_loader{target});
  }
}

void fit_loop::emit_log(int64_t step, int64_t epoch, metric_values metrics,
                        std::vector<std::string> lines, bool with_progress) {
  if (metrics.empty() && lines.empty() && !with_progress)
    return;
  if (step != st_.logged_step) {
    st_.logged_step = step;
    st_.logged_names.clear();
  }
  for (const auto& m : metrics)
    st_.logged_names.push_back(m.name);
  log_batch b;
  b.step = step;
  b.epoch = epoch;
  b.metrics = std::move(metrics);
  b.lines = std::move(lines);
  if (with_progress)
    b.progress = progress_info{epoch, cfg_.sched.max_epochs, step,
                               st_.last_step, st_.last_loss};
  ++st_.in_flight;
  st_.peak_in_flight = std::max(st_.peak_in_flight, st_.in_flight);
  out_.emplace_back(send_log{std::move(b)});
}

// -- callbacks ----------------------------------------------------------------

void fit_loop::begin_group(event_group g, size_t events) {
  st_.group = g;
  st_.replies.assign(events,
                     std::vector<callback_effects>(cfg_.callbacks.size()));
}

template <class Event>
void fit_loop::dispatch(size_t index, const char* hook, Event event) {
  st_.pending_replies += static_cast<int64_t>(cfg_.callbacks.size());
  out_.emplace_back(send_event{index, hook, std::move(event)});
}

void fit_loop::complete_group() {
  auto g = st_.group;
  st_.group = event_group::none;
  switch (g) {
    case event_group::fit_start:
      return complete_fit_start();
    case event_group::step:
      complete_step();
      return try_advance();
    case event_group::fit_end:
      return complete_fit_end();
    case event_group::none:
      return;
  }
}

/// Applies the callbacks' effects in event order, then callback order.
/// Returns false (after failing the fit) when a metric would get a second
/// point at `step`: one point per metric per step.
bool fit_loop::apply_effects(int64_t step) {
  std::vector<std::string> names;
  if (step == st_.logged_step)
    names = st_.logged_names;
  auto claim = [&](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) != names.end())
      return false;
    names.push_back(name);
    return true;
  };
  for (const auto& r : st_.records) {
    if (auto what = metric_name_problem(r.name); !what.empty()) {
      do_fail(fmt::format("step {}: {}", step, what));
      return false;
    }
    if (!claim(r.name)) {
      do_fail(fmt::format("'{}' logged twice at step {}", r.name, step));
      return false;
    }
  }
  for (auto& per_event : st_.replies) {
    for (size_t c = 0; c < per_event.size(); ++c) {
      auto& eff = per_event[c];
      for (auto& m : eff.metrics) {
        if (auto what = metric_name_problem(m.name); !what.empty()) {
          do_fail(fmt::format("callback '{}' logged a bad metric name at step "
                              "{}: {}",
                              cfg_.callbacks[c], step, what));
          return false;
        }
        if (!claim(m.name)) {
          do_fail(fmt::format("callback '{}' logged '{}' at step {}, which "
                              "already has a point for it at that step",
                              cfg_.callbacks[c], m.name, step));
          return false;
        }
        st_.records.push_back(std::move(m));
      }
      for (const auto& text : eff.lines) {
        // One line per '\n'-separated part; a final '\n' ends the last.
        size_t start = 0;
        do {
          auto nl = std::min(text.find('\n', start), text.size());
          auto line = text.substr(start, nl - start);
          if (!line.empty() && line.back() == '\r')
            line.pop_back();
          st_.lines.push_back(std::move(line));
          start = nl + 1;
        } while (start < text.size());
      }
      // One stop counts; a signal's does not hide a callback's (which a
      // checkpoint keeps, a signal's it does not).
      bool stopped = st_.stop_requested && !st_.interrupted;
      if (eff.stop && !stopped && !st_.callback_stopped
          && st_.phase == fit_phase::training) {
        st_.stop_requested = true;
        st_.callback_stopped = true;
        st_.stop_reason = eff.reason;
        // A stop answered to an event of step s takes effect after step
        // s + steps_ahead - 1: exactly the steps already permitted. At
        // least one step always runs.
        auto last = std::max<int64_t>(1, step + cfg_.steps_ahead - 1);
        st_.last_step = std::min(st_.last_step, last);
        st_.planned_last = std::min(st_.planned_last, last);
        st_.lines.push_back(fmt::format(
          "callback '{}' requested a stop at "
          "step {}{}; training ends after step "
          "{}",
          cfg_.callbacks[c], step, eff.reason.empty() ? "" : ": " + eff.reason,
          st_.last_step));
      }
    }
  }
  st_.replies.clear();
  return true;
}

// -- training steps -----------------------------------------------------------

void fit_loop::complete_fit_start() {
  if (!apply_effects(0))
    return;
  emit_log(0, 0, std::move(st_.records), std::move(st_.lines), false);
  st_.records.clear();
  st_.lines.clear();
  st_.busy = false;
  raise_permits();
  try_advance();
}

void fit_loop::complete_step() {
  auto s = st_.step;
  if (!apply_effects(s))
    return;
  if (st_.interrupt_pending && !st_.stop_requested
      && st_.phase == fit_phase::training) {
    // Ctrl-C: stop like a callback would, after the steps already permitted.
    st_.stop_requested = true;
    st_.interrupted = true;
    st_.last_step = std::min(st_.last_step, s + cfg_.steps_ahead - 1);
    st_.lines.push_back(
      fmt::format("interrupted: training ends after step {}", st_.last_step));
  }
  const auto& sched = cfg_.sched;
  // A candidate for the best checkpoints: the monitored validation metric.
  std::optional<double> score;
  if (cfg_.checkpoints && !cfg_.monitor.empty()
      && sched.is_validation_step(s)) {
    std::string names;
    for (const auto& r : st_.records) {
      if (r.name == cfg_.monitor)
        score = cfg_.maximize ? -r.value : r.value;
      if (r.name.rfind("val/", 0) == 0)
        names += (names.empty() ? "" : ", ") + r.name;
    }
    if (!score)
      return do_fail(fmt::format("--checkpoint-monitor names '{}', which the "
                                 "validation at step {} does not have (it has "
                                 "{})",
                                 cfg_.monitor, s, names));
  }
  bool progress = sched.is_log_step(s) || sched.is_epoch_end(s)
    || s == st_.last_step;
  emit_log(s, st_.epoch, std::move(st_.records), std::move(st_.lines),
           progress);
  st_.records.clear();
  st_.lines.clear();
  st_.busy = false;
  st_.acked = s;
  st_.samples += st_.pending_samples;
  st_.pending_samples = 0;
  ++st_.progress;
  bool periodic = is_periodic_checkpoint(s, cfg_.checkpoint_every);
  if (periodic || score)
    checkpoint(s, false, periodic || s == st_.last_step, score);
  raise_permits();
}

/// Asks for the checkpoint of `step`, the step just completed: nothing of a
/// later step has been logged or sent to a callback yet.
void fit_loop::checkpoint(int64_t step, bool ask_steppers, bool always,
                          std::optional<double> score) {
  if (!cfg_.checkpoints || step <= st_.checkpointed || step < 1)
    return;
  st_.checkpointed = step;
  fit_resume r;
  r.step = step;
  r.last_step = st_.planned_last;
  r.stop_requested = st_.planned_last < cfg_.sched.total_steps;
  r.stop_reason = r.stop_requested ? st_.stop_reason : std::string{};
  r.book = st_.book;
  r.last_loss = st_.last_loss;
  r.samples = st_.samples;
  r.logged_step = st_.logged_step;
  r.logged_names = st_.logged_names;
  out_.emplace_back(
    save_checkpoint{step, std::move(r), ask_steppers, always, score});
}

void fit_loop::begin_step(step_summary summary) {
  const auto& sched = cfg_.sched;
  auto s = summary.step;
  st_.busy = true;
  st_.step = s;
  st_.epoch = sched.epoch_of(s);
  st_.pending_samples = summary.samples;
  st_.records.clear();
  st_.replies.clear();
  std::optional<eval_summary> val;
  if (sched.is_validation_step(s)) {
    auto i = st_.validations.find(s);
    val = std::move(i->second);
    st_.validations.erase(i);
    for (auto d : val->param_digests)
      if (d != val->param_digests.front())
        return do_fail(fmt::format("replicas diverged: parameter digests "
                                   "differ after step {}",
                                   s));
  }
  auto log = st_.book.add_step(summary, val ? &val->reduced : nullptr,
                               sched.is_epoch_end(s));
  st_.records = std::move(log.records);
  if (summary.skipped)
    st_.lines.push_back(
      fmt::format("step {} skipped: a replica's loss was "
                  "not finite (--on-nonfinite-loss=skip-step)",
                  s));
  for (const auto& v : log.train)
    if (v.name == "train/loss")
      st_.last_loss = v.value;
  if (cfg_.callbacks.empty())
    return complete_step();
  // Events, in the documented order.
  train_step_end_event ev;
  ev.epoch = st_.epoch;
  ev.step = s;
  ev.lr = summary.lr;
  ev.log_step = sched.is_log_step(s);
  ev.reduced = std::move(log.train);
  ev.per_replica = std::move(log.per_replica);
  size_t events = 1 + (log.validation ? 1 : 0) + (log.epoch ? 1 : 0);
  begin_group(event_group::step, events);
  size_t index = 0;
  dispatch(index++, "on_train_step_end", std::move(ev));
  if (log.validation)
    dispatch(index++, "on_validation_end",
             validation_end_event{st_.epoch, s, std::move(*log.validation)});
  if (log.epoch)
    dispatch(index++, "on_epoch_end",
             epoch_end_event{st_.epoch, s, std::move(*log.epoch)});
}

/// Processes the next step once its summary (and its validation, when one
/// is scheduled) arrived and the logger has a credit left for its records;
/// steps never overlap and never reorder. Without credits, summaries wait
/// here (bounded by the permits) and the loader waits for permits.
void fit_loop::try_advance() {
  while (st_.phase == fit_phase::training && !st_.busy && credits_left() > 0) {
    if (st_.acked >= st_.last_step)
      return begin_test();
    auto s = st_.acked + 1;
    auto i = st_.summaries.find(s);
    if (i == st_.summaries.end())
      return;
    if (cfg_.sched.is_validation_step(s) && st_.validations.count(s) == 0)
      return;
    auto summary = std::move(i->second);
    st_.summaries.erase(i);
    begin_step(std::move(summary));
  }
}

// -- test and end -------------------------------------------------------------

void fit_loop::begin_test() {
  // Every step is complete: the last one's checkpoint (unless it was asked
  // for already), asked of the steppers too, which are idle now.
  checkpoint(st_.acked,
             !steppers_checkpoint(cfg_.sched, st_.acked, cfg_.checkpoint_every,
                                  !cfg_.monitor.empty()));
  st_.phase = fit_phase::testing;
  if (st_.stop_requested)
    st_.status = fit_status::stopped;
  if (st_.interrupted) {
    // A signal: the outputs and the checkpoint are what matters now.
    st_.lines.push_back("interrupted: the test pass is skipped");
    return end_fit({});
  }
  out_.emplace_back(run_test{eval_request{eval_kind::test, st_.last_step}});
}

void fit_loop::end_fit(eval_summary test) {
  st_.phase = fit_phase::ending;
  for (auto d : test.param_digests)
    if (d != test.param_digests.front())
      return do_fail("replicas diverged: parameter digests differ at the end "
                     "of training");
  st_.records = metric_book::test(test.reduced);
  if (cfg_.callbacks.empty())
    return complete_fit_end();
  begin_group(event_group::fit_end, 1);
  dispatch(0, "on_fit_end",
           fit_end_event{st_.last_step, st_.status, st_.records});
}

void fit_loop::complete_fit_end() {
  if (!apply_effects(st_.last_step))
    return;
  emit_log(st_.last_step, st_.epoch, std::move(st_.records),
           std::move(st_.lines), false);
  st_.records.clear();
  st_.lines.clear();
  finalize();
}

void fit_loop::finalize() {
  st_.phase = fit_phase::finalizing;
  auto report = report_so_far();
  // A step that did not complete logs nothing; the error shows as a line.
  st_.records.clear();
  if (!st_.error.empty())
    st_.lines.push_back("error: " + st_.error);
  if (!st_.lines.empty())
    emit_log(st_.acked, st_.epoch, {}, std::move(st_.lines), false);
  st_.lines.clear();
  st_.final_report = report;
  out_.emplace_back(close_log{std::move(report)});
}

/// Answers the trainer with a failure without going through the logger (it
/// is gone or stuck).
void fit_loop::abandon(std::string error, bool logger_alive) {
  auto r = report_so_far();
  r.status = fit_status::failed;
  r.error = std::move(error);
  st_.phase = fit_phase::done;
  out_.emplace_back(answer_trainer{std::move(r), logger_alive});
}

void fit_loop::do_fail(std::string what) {
  if (st_.phase == fit_phase::finalizing || st_.phase == fit_phase::done)
    return;
  st_.status = fit_status::failed;
  if (st_.error.empty())
    st_.error = std::move(what);
  // Before the start (a stepper failing while it sets up), `start` finalizes:
  // the trainer must get its answer.
  if (st_.phase != fit_phase::idle)
    finalize();
}

} // namespace troupe::core
