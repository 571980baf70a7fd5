#include "troupe/actors/coordinator.hpp"

#include <chrono>
#include <map>
#include <optional>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "troupe/actors/checkpointer.hpp"
#include "troupe/actors/pipeline.hpp"
#include "troupe/core/train/fit_loop.hpp"
#include "troupe/messages/type_ids.hpp"

// The coordinator is a shell around core::fit_loop: every message becomes an
// input of the loop, every command of the loop becomes messages. What it
// adds is what needs an actor: spawning and watching the pipeline, the
// requests and their replies, the watchdog timer and the trainer's answer.

namespace troupe::actors {

namespace {

struct coordinator_state {
  static inline const char* name = "coordinator";

  coordinator_config cfg;
  std::optional<core::fit_loop> loop;
  loader_actor loader;
  aggregator_actor aggregator;
  std::vector<stepper_actor> steppers;
  checkpointer_actor checkpointer;
  /// The newest checkpoint this fit asked for (-1: none; a resumed fit's
  /// own checkpoint was not asked for by it).
  int64_t checkpoint_asked = -1;
  /// Who is who, for the down handler's messages.
  std::map<caf::actor_addr, std::string> names;
  caf::typed_response_promise<fit_report> done;
};

using coordinator_impl = tapped_stateful<coordinator_actor, coordinator_state>;

/// Sends every other actor of the fit an exit (the logger last, after what
/// it was already sent: exits queue behind earlier messages).
void stop_actors(coordinator_impl* self, bool logger) {
  auto& st = self->state;
  for (const auto& a : st.steppers)
    self->send_exit(a, caf::exit_reason::user_shutdown);
  self->send_exit(st.loader, caf::exit_reason::user_shutdown);
  self->send_exit(st.aggregator, caf::exit_reason::user_shutdown);
  if (st.checkpointer)
    self->send_exit(st.checkpointer, caf::exit_reason::user_shutdown);
  for (const auto& cb : st.cfg.callbacks)
    self->send_exit(cb.second, caf::exit_reason::user_shutdown);
  if (logger)
    self->send_exit(st.cfg.logger, caf::exit_reason::user_shutdown);
}

void run(coordinator_impl* self, core::fit_commands cmds);

/// Hands one input to the loop and carries out its commands.
template <class Input>
void feed(coordinator_impl* self, Input input) {
  run(self, input(*self->state.loop));
}

std::string render(coordinator_impl* self, const caf::error& err) {
  return self->system().render(err);
}

void arm_watchdog(coordinator_impl* self) {
  auto& st = self->state;
  auto timeout = std::chrono::duration<double>(st.cfg.options.timeout_seconds);
  self->delayed_send(
    self, std::chrono::duration_cast<std::chrono::milliseconds>(timeout),
    watchdog_atom_v, st.loop->state().progress);
}

// -- commands into messages ---------------------------------------------------

void run(coordinator_impl* self, core::fit_commands cmds) {
  auto& st = self->state;
  for (auto& cmd : cmds) {
    if (std::holds_alternative<core::open_log>(cmd)) {
      self
        ->request(st.cfg.logger, caf::infinite,
                  log_start{st.cfg.config_json, st.cfg.start_lines})
        .then([](bool) {},
              [=](caf::error& err) {
                feed(self, [&](core::fit_loop& l) {
                  return l.logger_failed("logger could not start: "
                                         + render(self, err));
                });
              });
    } else if (auto* x = std::get_if<core::permit_loader>(&cmd)) {
      self->send(st.loader, step_permit{x->last_step});
    } else if (auto* x = std::get_if<core::send_event>(&cmd)) {
      auto index = x->index;
      std::string hook = x->hook;
      std::visit(
        [&](const auto& event) {
          for (size_t c = 0; c < st.cfg.callbacks.size(); ++c)
            self->request(st.cfg.callbacks[c].second, caf::infinite, event)
              .then(
                [=](callback_effects& eff) {
                  feed(self, [&](core::fit_loop& l) {
                    return l.callback_answered(index, c, std::move(eff));
                  });
                },
                [=](caf::error& err) {
                  feed(self, [&](core::fit_loop& l) {
                    return l.callback_failed(c, hook, render(self, err));
                  });
                });
        },
        x->event);
    } else if (auto* x = std::get_if<core::send_log>(&cmd)) {
      self->request(st.cfg.logger, caf::infinite, std::move(x->batch))
        .then(
          [=](int64_t) {
            feed(self, [](core::fit_loop& l) {
              return l.logged();
            });
          },
          [=](caf::error& err) {
            feed(self, [&](core::fit_loop& l) {
              return l.logger_failed("logger failed: " + render(self, err));
            });
          });
    } else if (auto* x = std::get_if<core::run_test>(&cmd)) {
      for (const auto& s : st.steppers)
        self->send(s, x->request);
    } else if (auto* x = std::get_if<core::close_log>(&cmd)) {
      auto finish = [self](fit_report report) {
        self
          ->request(self->state.cfg.logger, caf::infinite,
                    log_finish{std::move(report)})
          .then(
            [=](fit_report& r) {
              feed(self, [&](core::fit_loop& l) {
                return l.closed(std::move(r));
              });
            },
            [=](caf::error& err) {
              feed(self, [&](core::fit_loop& l) {
                return l.close_failed(render(self, err));
              });
            });
      };
      auto step = st.checkpoint_asked;
      if (st.checkpointer && step > 0
          && x->report.status != fit_status::failed) {
        // The last checkpoint is on disk before the run says it ended.
        auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::duration<double>(st.cfg.options.timeout_seconds));
        auto report = x->report;
        self->request(st.checkpointer, timeout, checkpoint_flush{step})
          .then(
            [=](std::vector<std::string>& lost) {
              auto r = report;
              r.sink_errors = std::move(lost);
              finish(std::move(r));
            },
            [=](caf::error& err) {
              auto r = report;
              r.sink_errors.push_back(
                "troupe: the checkpoint of step " + std::to_string(step)
                + " was not written: " + render(self, err));
              finish(std::move(r));
            });
      } else {
        finish(x->report);
      }
    } else if (auto* x = std::get_if<core::save_checkpoint>(&cmd)) {
      auto step = x->step;
      st.checkpoint_asked = step;
      checkpoint_part own;
      own.step = step;
      own.from = "coordinator";
      own.sections.push_back({"fit", core::encode_fit_resume(x->state)});
      own.sections.push_back({"config", st.cfg.config_json});
      std::string names;
      for (const auto& cb : st.cfg.callbacks)
        names += cb.first + "\n";
      own.sections.push_back({"callbacks", names});
      // What the checkpointer keeps it for (core::checkpoint_retention).
      own.sections.push_back(
        {"retention", core::encode_retention({x->always, x->score})});
      self->send(st.checkpointer, std::move(own));
      for (size_t c = 0; c < st.cfg.callbacks.size(); ++c)
        self
          ->request(st.cfg.callbacks[c].second, caf::infinite,
                    checkpoint_request{step})
          .then(
            [=](std::string& state) {
              checkpoint_part p;
              p.step = step;
              p.from = "callback '" + self->state.cfg.callbacks[c].first + "'";
              p.sections.push_back(
                {fmt::format("callback/{}", c), std::move(state)});
              self->send(self->state.checkpointer, std::move(p));
            },
            [=](caf::error& err) {
              feed(self, [&](core::fit_loop& l) {
                return l.callback_failed(c, "save_state", render(self, err));
              });
            });
      self->request(st.cfg.logger, caf::infinite, checkpoint_request{step})
        .then(
          [=](checkpoint_part& p) {
            self->send(self->state.checkpointer, std::move(p));
          },
          [=](caf::error& err) {
            feed(self, [&](core::fit_loop& l) {
              return l.logger_failed("logger failed to checkpoint: "
                                     + render(self, err));
            });
          });
      if (x->ask_steppers)
        for (const auto& s : st.steppers)
          self->send(s, checkpoint_request{step});
    } else if (auto* x = std::get_if<core::answer_trainer>(&cmd)) {
      st.done.deliver(std::move(x->report));
      stop_actors(self, x->logger_alive);
      self->quit();
    }
  }
}

coordinator_actor::behavior_type coordinator(coordinator_impl* self,
                                             coordinator_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  core::fit_loop_config lc;
  lc.sched = st.cfg.sched;
  lc.steps_ahead = st.cfg.options.steps_ahead;
  lc.logger_credits = st.cfg.options.logger_credits;
  lc.reduce = st.cfg.options.reduce;
  lc.timeout_seconds = st.cfg.options.timeout_seconds;
  for (const auto& cb : st.cfg.callbacks)
    lc.callbacks.push_back(cb.first);
  lc.checkpoints = !st.cfg.checkpoint_dir.empty();
  lc.skip_nonfinite = st.cfg.options.on_nonfinite_loss == "skip-step";
  lc.monitor = st.cfg.options.checkpoint_monitor;
  lc.maximize = st.cfg.options.checkpoint_mode == "max";
  lc.checkpoint_every = st.cfg.options.checkpoint_every_n_steps;
  if (st.cfg.resume)
    lc.resume = core::decode_fit_resume(
      st.cfg.resume->section("fit", st.cfg.resume_file), st.cfg.resume_file);
  st.loop.emplace(std::move(lc));
  // Spawn (or adopt) and watch the pipeline: aggregator, one stepper per
  // replica, loader.
  self->tap("coordinator", st.cfg.tap);
  if (!st.cfg.checkpoint_dir.empty()) {
    // One share per stepper, the coordinator's, each callback's, the
    // logger's.
    checkpointer_config kc;
    kc.dir = st.cfg.checkpoint_dir;
    kc.keep = st.cfg.options.keep_checkpoints;
    kc.top_k = st.cfg.options.save_top_k;
    if (st.cfg.resume && st.cfg.resume->has("best"))
      kc.resumed_best = st.cfg.resume->sections.at("best");
    kc.parts = st.cfg.sched.replicas + 2
      + static_cast<int64_t>(st.cfg.callbacks.size());
    kc.tap = st.cfg.tap;
    st.checkpointer = spawn_checkpointer(self->system(), std::move(kc));
    st.cfg.checkpointer = st.checkpointer;
  }
  auto p = st.cfg.pipeline
    ? *st.cfg.pipeline
    : spawn_pipeline(self->system(), st.cfg,
                     caf::actor_cast<coordinator_actor>(self));
  auto watch = [&](const std::string& name, const auto& a) {
    self->monitor(a);
    st.names[a.address()] = name;
    if (st.cfg.on_spawn)
      st.cfg.on_spawn(name, caf::actor_cast<caf::actor>(a));
  };
  st.aggregator = p.aggregator;
  watch("aggregator", st.aggregator);
  st.steppers = p.steppers;
  for (size_t r = 0; r < st.steppers.size(); ++r)
    watch(fmt::format("stepper[{}]", r), st.steppers[r]);
  st.loader = p.loader;
  watch("loader", st.loader);
  if (st.checkpointer)
    watch("checkpointer", st.checkpointer);
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
    if (auto r = st.loop->crash(what)) {
      // One-way: nobody waits for its answer any more.
      caf::anon_send(st.cfg.logger, log_finish{*r});
      st.done.deliver(*r);
      stop_actors(self, true);
    }
    return caf::make_error(caf::sec::runtime_error, what);
  });
  self->set_down_handler([=](caf::down_msg& dm) {
    auto i = self->state.names.find(dm.source);
    auto who = i != self->state.names.end() ? i->second
                                            : std::string{"an actor"};
    feed(self, [&](core::fit_loop& l) {
      return l.actor_down(who, render(self, dm.reason));
    });
  });
  return {
    [=](start_atom) -> caf::result<fit_report> {
      auto& st = self->state;
      if (st.loop->state().phase != core::fit_phase::idle)
        return caf::make_error(caf::sec::runtime_error,
                               "coordinator: start received twice");
      st.done = self->make_response_promise<fit_report>();
      feed(self, [&](core::fit_loop& l) {
        auto cmds = l.start();
        if (l.state().phase == core::fit_phase::training)
          arm_watchdog(self);
        return cmds;
      });
      return st.done;
    },
    [=](step_summary& s) {
      feed(self, [&](core::fit_loop& l) {
        return l.step_arrived(std::move(s));
      });
    },
    [=](eval_summary& e) {
      feed(self, [&](core::fit_loop& l) {
        return l.eval_arrived(std::move(e));
      });
    },
    [=](const actor_failure& f) {
      feed(self, [&](core::fit_loop& l) {
        return l.fail(
          fmt::format("{} failed at step {}: {}", f.actor, f.step, f.what));
      });
    },
    [=](interrupt_atom) {
      feed(self, [](core::fit_loop& l) {
        return l.interrupt();
      });
    },
    [=](watchdog_atom, uint64_t seen) {
      feed(self, [&](core::fit_loop& l) {
        return l.watchdog(seen);
      });
      if (!self->state.loop->done())
        arm_watchdog(self);
    },
  };
}

} // namespace

coordinator_actor spawn_coordinator(caf::actor_system& sys,
                                    coordinator_config cfg) {
  if (cfg.pipeline
      && static_cast<int64_t>(cfg.pipeline->steppers.size())
        != cfg.sched.replicas)
    throw std::invalid_argument(
      fmt::format("coordinator: {} steppers given for {} replicas",
                  cfg.pipeline->steppers.size(), cfg.sched.replicas));
  return sys.spawn(coordinator, std::move(cfg));
}

} // namespace troupe::actors
