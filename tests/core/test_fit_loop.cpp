// The fit loop driven without an actor system: a small simulation plays the
// loader, steppers, aggregator, callbacks and logger, answering every command
// in the order it was issued (as mailboxes would).

#include <catch2/catch.hpp>

#include <deque>
#include <functional>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <fmt/format.h>

#include "troupe/core/train/fit_loop.hpp"

using namespace troupe;
using namespace troupe::core;

namespace {

/// 4 steps per epoch, 2 epochs; validation every 3 steps; log every 2.
schedule small_schedule() {
  schedule s;
  s.replicas = 2;
  s.batch_size = 4;
  s.global_batch = 8;
  s.train_size = 32;
  s.steps_per_epoch = 4;
  s.max_epochs = 2;
  s.total_steps = 8;
  s.val_every = 3;
  s.log_every = 2;
  return s;
}

fit_loop_config make_config(std::vector<std::string> callbacks,
                            int64_t steps_ahead = 2) {
  fit_loop_config cfg;
  cfg.sched = small_schedule();
  cfg.steps_ahead = steps_ahead;
  cfg.callbacks = std::move(callbacks);
  return cfg;
}

/// The loss of step s is 1/s; replica r contributes (1 + r) / s.
step_summary summary_of(int64_t step) {
  step_summary s;
  s.epoch = (step - 1) / 4;
  s.step = step;
  s.samples = 8;
  s.lr = 0.5;
  s.per_replica = {{{"loss", 4.0 / step, 4}}, {{"loss", 8.0 / step, 4}}};
  s.reduced = {{"loss", 12.0 / step, 8}};
  return s;
}

eval_summary eval_of(eval_kind kind, int64_t step) {
  return eval_summary{kind, step, {{"loss", 0.25 * step, 1}}, {7, 7}};
}

using event_variant = decltype(send_event::event);

std::string describe_event(const event_variant& ev) {
  return std::visit(
    [](const auto& e) -> std::string {
      using T = std::decay_t<decltype(e)>;
      if constexpr (std::is_same_v<T, fit_start_event>)
        return "fit_start";
      else if constexpr (std::is_same_v<T, train_step_end_event>)
        return fmt::format("train_step_end {}", e.step);
      else if constexpr (std::is_same_v<T, validation_end_event>)
        return fmt::format("validation_end {}", e.step);
      else if constexpr (std::is_same_v<T, epoch_end_event>)
        return fmt::format("epoch_end {}", e.step);
      else
        return fmt::format("fit_end {} {}", e.step, to_string(e.status));
    },
    ev);
}

/// Plays every peer of the loop. Permitted steps are produced (summary, and
/// validation at validation steps) as soon as the permit arrives.
struct simulation {
  explicit simulation(fit_loop_config cfg) : loop(std::move(cfg)) {
    // nop
  }

  fit_loop loop;
  /// Callback c's answer to an event.
  std::function<callback_effects(size_t, const event_variant&)> answer
    = [](size_t, const event_variant&) {
        return callback_effects{};
      };
  /// Called before each input (to interrupt at a chosen point).
  std::function<void(simulation&)> before_input;
  std::vector<std::string> events; ///< as callback 0 saw them
  std::vector<log_batch> logs;
  std::vector<int64_t> permits;
  int64_t produced = 0;
  int64_t test_step = -1;
  std::vector<save_checkpoint> checkpoints;
  std::optional<fit_report> report;
  /// The largest lead of a permit over the last completed step.
  int64_t max_lead = 0;
  std::deque<std::function<fit_commands(fit_loop&)>> inbox;

  void post(std::function<fit_commands(fit_loop&)> f) {
    inbox.push_back(std::move(f));
  }

  void handle(fit_commands cmds) {
    for (auto& cmd : cmds) {
      if (auto* x = std::get_if<permit_loader>(&cmd)) {
        permits.push_back(x->last_step);
        max_lead = std::max(max_lead, x->last_step - loop.state().acked);
        for (; produced < x->last_step; ++produced) {
          auto s = produced + 1;
          if (loop.config().sched.is_validation_step(s))
            post([s](fit_loop& l) {
              return l.eval_arrived(eval_of(eval_kind::validation, s));
            });
          post([s](fit_loop& l) {
            return l.step_arrived(summary_of(s));
          });
        }
      } else if (auto* x = std::get_if<send_event>(&cmd)) {
        events.push_back(describe_event(x->event));
        for (size_t c = 0; c < loop.config().callbacks.size(); ++c) {
          auto eff = answer(c, x->event);
          auto index = x->index;
          post([index, c, eff](fit_loop& l) {
            return l.callback_answered(index, c, eff);
          });
        }
      } else if (auto* x = std::get_if<send_log>(&cmd)) {
        logs.push_back(x->batch);
        post([](fit_loop& l) {
          return l.logged();
        });
      } else if (auto* x = std::get_if<run_test>(&cmd)) {
        test_step = x->request.step;
        auto s = x->request.step;
        post([s](fit_loop& l) {
          return l.eval_arrived(eval_of(eval_kind::test, s));
        });
      } else if (auto* x = std::get_if<close_log>(&cmd)) {
        auto r = x->report;
        post([r](fit_loop& l) {
          return l.closed(r);
        });
      } else if (auto* x = std::get_if<answer_trainer>(&cmd)) {
        report = x->report;
      } else if (auto* x = std::get_if<save_checkpoint>(&cmd)) {
        checkpoints.push_back(*x);
        // Nothing of a later step was logged before it.
        CHECK((logs.empty() || logs.back().step <= x->step));
      }
    }
  }

  /// Runs the fit to its end (or until the inbox is empty); `start` false
  /// continues a fit already under way.
  fit_report run(bool start = true) {
    if (start)
      handle(loop.start());
    while (!inbox.empty() && !loop.done()) {
      if (before_input)
        before_input(*this);
      auto f = std::move(inbox.front());
      inbox.pop_front();
      handle(f(loop));
    }
    REQUIRE(report);
    return *report;
  }

  /// The metrics of every log batch at `step`, in order.
  std::vector<std::string> logged_at(int64_t step) const {
    std::vector<std::string> out;
    for (const auto& b : logs)
      if (b.step == step)
        for (const auto& m : b.metrics)
          out.push_back(m.name);
    return out;
  }
};

/// Answers stop to `event` (as described by describe_event) from callback 0.
std::function<callback_effects(size_t, const event_variant&)>
stop_on(std::string event) {
  return [event](size_t c, const event_variant& ev) {
    callback_effects eff;
    if (c == 0 && describe_event(ev) == event) {
      eff.stop = true;
      eff.reason = "enough";
    }
    return eff;
  };
}

} // namespace

TEST_CASE("the fit loop sends events in the documented order",
          "[core][fit_loop]") {
  simulation sim{make_config({"probe"})};
  auto report = sim.run();
  CHECK(report.status == troupe::fit_status::completed);
  CHECK(report.global_step == 8);
  CHECK(report.epochs == 2);
  CHECK(report.samples == 64);
  std::vector<std::string> expected{
    "fit_start",        "train_step_end 1",    "train_step_end 2",
    "train_step_end 3", "validation_end 3",    "train_step_end 4",
    "epoch_end 4",      "train_step_end 5",    "train_step_end 6",
    "validation_end 6", "train_step_end 7",    "train_step_end 8",
    "epoch_end 8",      "fit_end 8 completed",
  };
  CHECK(sim.events == expected);
  CHECK(sim.test_step == 8);
  // One batch per step with something to write, in step order; training
  // windows at log steps only, validation at its step, the test at the end.
  CHECK(sim.logged_at(1).empty());
  CHECK(sim.logged_at(2) == std::vector<std::string>{"train/loss", "lr"});
  CHECK(sim.logged_at(3) == std::vector<std::string>{"val/loss"});
  CHECK(sim.logged_at(4)
        == std::vector<std::string>{"train/loss", "lr", "train/loss_epoch"});
  CHECK(sim.logged_at(8)
        == std::vector<std::string>{"train/loss", "lr", "train/loss_epoch",
                                    "test/loss"});
  for (size_t i = 1; i < sim.logs.size(); ++i)
    CHECK(sim.logs[i - 1].step <= sim.logs[i].step);
  // The window at step 2 is the sample-weighted mean of steps 1 and 2.
  auto at2 = std::find_if(sim.logs.begin(), sim.logs.end(),
                          [](const log_batch& b) {
                            return b.step == 2;
                          });
  REQUIRE(at2 != sim.logs.end());
  CHECK(at2->metrics.front().value == Approx((1.5 / 1 + 1.5 / 2) / 2));
}

TEST_CASE(
  "a stop answered to an event of step s ends after s + steps_ahead - 1",
  "[core][fit_loop]") {
  struct probe {
    const char* event;
    int64_t steps_ahead;
    int64_t last;
  };
  for (auto p :
       {probe{"train_step_end 2", 2, 3}, probe{"validation_end 3", 2, 4},
        probe{"epoch_end 4", 2, 5}, probe{"train_step_end 2", 3, 4},
        probe{"train_step_end 7", 2, 8}, probe{"train_step_end 1", 1, 1}}) {
    INFO(p.event << " with steps_ahead " << p.steps_ahead);
    simulation sim{make_config({"stopper"}, p.steps_ahead)};
    sim.answer = stop_on(p.event);
    auto report = sim.run();
    CHECK(report.global_step == p.last);
    CHECK(report.status
          == troupe::fit_status::stopped); // even when the stop changed nothing
    CHECK(sim.test_step == p.last);
    CHECK(sim.events.back()
          == fmt::format("fit_end {} {}", p.last, to_string(report.status)));
    // Never a step past the stop: the loader was permitted exactly up to it.
    CHECK(sim.permits.back() == p.last);
    CHECK(sim.max_lead <= p.steps_ahead);
  }
}

TEST_CASE("two callbacks' effects apply in the order they were added",
          "[core][fit_loop]") {
  simulation sim{make_config({"first", "second"})};
  sim.answer = [](size_t c, const event_variant& ev) {
    callback_effects eff;
    if (describe_event(ev) == "train_step_end 2")
      eff.metrics.push_back({c == 0 ? "first/x" : "second/x", double(c)});
    if (describe_event(ev) == "validation_end 3") {
      eff.metrics.push_back({c == 0 ? "first/v" : "second/v", double(c)});
      eff.stop = true;
      eff.reason = c == 0 ? "first's reason" : "second's reason";
    }
    return eff;
  };
  auto report = sim.run();
  CHECK(sim.logged_at(2)
        == std::vector<std::string>{"train/loss", "lr", "first/x", "second/x"});
  CHECK(sim.logged_at(3)
        == std::vector<std::string>{"val/loss", "first/v", "second/v"});
  CHECK(report.global_step == 4);
  // The first callback's stop is the one that counts.
  bool line = false;
  for (const auto& b : sim.logs)
    for (const auto& l : b.lines)
      if (l.find("callback 'first' requested a stop at step 3: first's reason")
          != std::string::npos)
        line = true;
  CHECK(line);
}

TEST_CASE("a callback logging a metric twice at a step fails naming it",
          "[core][fit_loop]") {
  simulation sim{make_config({"first", "second"})};
  sim.answer = [](size_t, const event_variant& ev) {
    callback_effects eff;
    if (describe_event(ev) == "train_step_end 2")
      eff.metrics.push_back({"shared/x", 1});
    return eff;
  };
  auto report = sim.run();
  CHECK(report.status == troupe::fit_status::failed);
  CHECK(report.error
        == "callback 'second' logged 'shared/x' at step 2, which already has "
           "a point for it at that step");
  CHECK(report.global_step == 1);
}

TEST_CASE("the loader is never permitted more than steps_ahead past the last "
          "completed step",
          "[core][fit_loop]") {
  for (int64_t ahead : {1, 2, 3, 5}) {
    INFO("steps_ahead " << ahead);
    auto cfg = make_config({"probe"}, ahead);
    cfg.sched.max_epochs = 4;
    cfg.sched.total_steps = 16;
    simulation sim{cfg};
    auto report = sim.run();
    CHECK(report.global_step == 16);
    CHECK(sim.max_lead == std::min<int64_t>(ahead, 16));
    for (size_t i = 1; i < sim.permits.size(); ++i)
      CHECK(sim.permits[i - 1] < sim.permits[i]);
    CHECK(sim.permits.back() == 16);
  }
}

TEST_CASE("a logger without credits holds the steps back", "[core][fit_loop]") {
  auto cfg = make_config({});
  cfg.logger_credits = 1;
  fit_loop loop{cfg};
  auto cmds = loop.start();
  REQUIRE(cmds.size() == 2);
  CHECK(std::get<permit_loader>(cmds[1]).last_step == 2);
  cmds = loop.step_arrived(summary_of(1));
  // Step 1 logs nothing (not a log step): no credit is taken.
  REQUIRE(cmds.size() == 1);
  CHECK(std::get<permit_loader>(cmds[0]).last_step == 3);
  cmds = loop.step_arrived(summary_of(2));
  REQUIRE(cmds.size() == 1); // the batch of step 2; no permit without credit
  CHECK(std::get<send_log>(cmds[0]).batch.step == 2);
  CHECK(loop.step_arrived(summary_of(3)).empty()); // waits for the credit
  CHECK(loop.eval_arrived(eval_of(eval_kind::validation, 3)).empty());
  CHECK(loop.state().acked == 2);
  cmds = loop.logged();
  REQUIRE(cmds.size() == 2); // permit for step 4, then step 3's batch
  CHECK(std::get<permit_loader>(cmds[0]).last_step == 4);
  CHECK(std::get<send_log>(cmds[1]).batch.step == 3);
  CHECK(loop.state().acked == 3);
  CHECK(loop.state().peak_in_flight == 1);
}

TEST_CASE("Ctrl-C ends the fit after the steps already permitted",
          "[core][fit_loop]") {
  SECTION("a signal while step 3 completes ends after step 4") {
    simulation sim{make_config({"probe"})};
    bool sent = false;
    sim.before_input = [&](simulation& s) {
      // Step 3's events are out, its answers not yet in.
      if (!sent && s.loop.state().busy && s.loop.state().step == 3) {
        s.handle(s.loop.interrupt());
        sent = true;
      }
    };
    auto report = sim.run();
    CHECK(report.global_step == 4);
    CHECK(report.interrupted);
    CHECK(report.status == troupe::fit_status::stopped);
    CHECK(report.error == "interrupted by a signal");
    CHECK(sim.test_step == -1); // the test pass is skipped after a signal
    CHECK(sim.permits.back() == 4);
  }
  SECTION("a signal between steps 3 and 4 ends after step 5") {
    auto cfg = make_config({});
    fit_loop loop{cfg};
    loop.start();
    for (int64_t s = 1; s <= 3; ++s) {
      if (cfg.sched.is_validation_step(s))
        loop.eval_arrived(eval_of(eval_kind::validation, s));
      for (auto& c : loop.step_arrived(summary_of(s)))
        if (std::holds_alternative<send_log>(c))
          loop.logged();
    }
    REQUIRE(loop.state().acked == 3);
    REQUIRE(loop.state().permitted == 5);
    CHECK(loop.interrupt().empty());
    loop.step_arrived(summary_of(4));
    CHECK(loop.state().last_step == 5);
    CHECK(loop.state().interrupted);
  }
}

TEST_CASE("failures end the fit once, naming the first cause",
          "[core][fit_loop]") {
  fit_loop loop{make_config({})};
  loop.start();
  loop.step_arrived(summary_of(1));
  auto cmds = loop.fail("stepper[1] failed at step 2: boom");
  REQUIRE(cmds.size() == 2);
  CHECK(
    std::get<send_log>(cmds[0]).batch.lines
    == std::vector<std::string>{"error: stepper[1] failed at step 2: boom"});
  auto& closing = std::get<close_log>(cmds[1]).report;
  CHECK(closing.status == troupe::fit_status::failed);
  CHECK(closing.global_step == 1);
  // Later failures change nothing; the trainer gets the first.
  CHECK(loop.fail("aggregator failed").empty());
  CHECK(loop.actor_down("stepper[0]", "killed").empty());
  cmds = loop.closed(closing);
  REQUIRE(cmds.size() == 1);
  CHECK(std::get<answer_trainer>(cmds[0]).report.error
        == "stepper[1] failed at step 2: boom");
  CHECK(loop.done());
}

TEST_CASE("the watchdog fails a fit without progress, and answers without a "
          "stuck logger",
          "[core][fit_loop]") {
  auto cfg = make_config({});
  cfg.timeout_seconds = 5;
  fit_loop loop{cfg};
  loop.start();
  auto seen = loop.state().progress;
  loop.step_arrived(summary_of(1));
  CHECK(loop.watchdog(seen).empty()); // it moved on since
  seen = loop.state().progress;
  auto cmds = loop.watchdog(seen);
  REQUIRE(cmds.size() == 2);
  CHECK(std::get<close_log>(cmds[1]).report.error
        == "no progress for 5 s (training at step 1, waiting for step 2)");
  cmds = loop.watchdog(loop.state().progress);
  REQUIRE(cmds.size() == 1);
  auto& a = std::get<answer_trainer>(cmds[0]);
  CHECK(a.logger_alive);
  CHECK(a.report.error
        == "no progress for 5 s (training at step 1, waiting for step 2); "
           "the logger did not finish within 5 s");
}

TEST_CASE("the fit state serializes, and a restored loop continues exactly",
          "[core][fit_loop]") {
  auto serialize = [](fit_state& st) {
    std::vector<char> buf;
    caf::binary_serializer sink{nullptr, buf};
    REQUIRE(!sink(st));
    return buf;
  };
  auto cfg = make_config({"probe"});
  simulation a{cfg};
  a.answer = [](size_t, const event_variant& ev) {
    callback_effects eff;
    if (describe_event(ev) == "validation_end 6")
      eff.stop = true;
    return eff;
  };
  // Run `a` up to the middle of step 5, then copy its state (and inbox) into
  // a fresh loop through the serialized bytes.
  a.handle(a.loop.start());
  while (a.loop.state().acked < 4 || !a.loop.state().busy) {
    REQUIRE(!a.inbox.empty());
    auto f = std::move(a.inbox.front());
    a.inbox.pop_front();
    a.handle(f(a.loop));
  }
  auto state = a.loop.state();
  auto bytes = serialize(state);
  fit_state copy;
  caf::binary_deserializer source{nullptr, bytes};
  REQUIRE(!source(copy));
  CHECK(serialize(copy) == bytes);
  simulation b{cfg};
  b.answer = a.answer;
  b.loop.restore(copy);
  b.inbox = a.inbox;
  b.produced = a.produced;
  auto ra = a.run(false);
  auto rb = b.run(false);
  CHECK(ra == rb);
  CHECK(ra.global_step == 7);
  REQUIRE(a.logs.size() >= b.logs.size());
  // What `b` logged is exactly the tail of what `a` logged.
  std::vector<log_batch> tail(a.logs.end() - static_cast<long>(b.logs.size()),
                              a.logs.end());
  CHECK((tail == b.logs));
  CHECK(!b.logs.empty());
}

TEST_CASE("a callback metric whose name no sink can hold fails the fit "
          "naming the callback and the metric",
          "[core][fit_loop]") {
  struct bad_name {
    std::string name;
    std::string complaint;
  };
  for (const auto& b : std::vector<bad_name>{
         {"status", "'status' is a key of summary.json"},
         {"global_step", "'global_step' is a key of summary.json"},
         {"two\nlines", "control character"},
         {"bad \xff utf-8", "not valid UTF-8"},
         {"", "must not be empty"},
         {std::string(300, 'x'), "at most 256"}}) {
    INFO(b.complaint);
    simulation sim{make_config({"namer"})};
    sim.answer = [&](size_t, const event_variant& ev) {
      callback_effects eff;
      if (describe_event(ev) == "train_step_end 2")
        eff.metrics.push_back({b.name, 1});
      return eff;
    };
    auto report = sim.run();
    CHECK(report.status == troupe::fit_status::failed);
    CHECK_THAT(report.error,
               Catch::StartsWith("callback 'namer' logged a bad metric name "
                                 "at step 2")
                 && Catch::Contains(b.complaint));
    CHECK(report.global_step == 1);
    for (const auto& log : sim.logs)
      for (const auto& m : log.metrics)
        CHECK(m.name != b.name);
  }
  // Commas, quotes and any script are data, not errors.
  simulation sim{make_config({"namer"})};
  sim.answer = [](size_t, const event_variant& ev) {
    callback_effects eff;
    if (describe_event(ev) == "train_step_end 2")
      eff.metrics.push_back({"a,b \"q\" \xc3\xa9", 1});
    return eff;
  };
  CHECK(sim.run().status == troupe::fit_status::completed);
}

TEST_CASE("a signal during the test pass ends the fit at once, stopped",
          "[core][fit_loop]") {
  auto cfg = make_config({"probe"});
  simulation sim{cfg};
  bool sent = false;
  sim.before_input = [&](simulation& s) {
    if (!sent && s.loop.state().phase == fit_phase::testing) {
      s.handle(s.loop.interrupt());
      sent = true;
    }
  };
  auto report = sim.run();
  REQUIRE(sent);
  CHECK(report.status == troupe::fit_status::stopped);
  CHECK(report.interrupted);
  CHECK(report.global_step == 8);
  // on_fit_end still runs (status stopped), without test metrics.
  CHECK(sim.events.back() == "fit_end 8 stopped");
  for (const auto& log : sim.logs)
    for (const auto& m : log.metrics)
      CHECK(m.name.rfind("test/", 0) != 0);
}

TEST_CASE("checkpoints are asked for every N-th step and after the last, "
          "with the state a resumed loop continues from exactly",
          "[core][fit_loop]") {
  auto cfg = make_config({"probe"});
  cfg.checkpoints = true;
  cfg.checkpoint_every = 3;
  simulation whole{cfg};
  auto report = whole.run();
  REQUIRE(report.status == troupe::fit_status::completed);
  std::vector<int64_t> steps;
  for (const auto& c : whole.checkpoints) {
    steps.push_back(c.step);
    CHECK(c.state.step == c.step);
    // Periodic ones the steppers send unasked; the last one is asked for.
    CHECK(c.ask_steppers == (c.step % 3 != 0));
    CHECK(c.always);
  }
  CHECK(steps == std::vector<int64_t>{3, 6, 8});
  // A loop resumed from step 6's state logs what the whole one logged after
  // step 6, and sends the same events after it.
  auto resumed_cfg = cfg;
  resumed_cfg.resume = whole.checkpoints[1].state;
  simulation resumed{resumed_cfg};
  resumed.produced = 6;
  auto r2 = resumed.run();
  CHECK(r2.global_step == report.global_step);
  CHECK(r2.samples == report.samples);
  std::vector<log_batch> after;
  for (const auto& b : whole.logs)
    if (b.step > 6)
      after.push_back(b);
  REQUIRE(resumed.logs.size() == after.size());
  for (size_t i = 0; i < after.size(); ++i) {
    CHECK(resumed.logs[i].step == after[i].step);
    CHECK((resumed.logs[i].metrics == after[i].metrics));
  }
  auto tail = std::vector<std::string>(
    whole.events.end() - static_cast<long>(resumed.events.size()),
    whole.events.end());
  CHECK(resumed.events == tail);
  CHECK(resumed.events.front() == "train_step_end 7"); // no fit_start
  // And its state through the checkpoint's bytes is the same value.
  auto bytes = encode_fit_resume(whole.checkpoints[1].state);
  CHECK(encode_fit_resume(decode_fit_resume(bytes, "f")) == bytes);
  CHECK_THROWS_WITH(decode_fit_resume(bytes.substr(0, bytes.size() / 2), "f"),
                    Catch::Contains("f: the fit's state does not decode"));
}
