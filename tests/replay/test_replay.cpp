// Replay: a recorded inbox fed into a fresh actor of the same kind, under
// the deterministic test scheduler, reproduces what the recorded actor sent,
// bit for bit (wall-clock fields aside).

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include "boring_model.hpp"
#include "deterministic_fixture.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/aggregator.hpp"
#include "troupe/actors/callback_host.hpp"
#include "troupe/actors/coordinator.hpp"
#include "troupe/actors/logger.hpp"
#include "troupe/actors/replay.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/trace/trace_format.hpp"
#include "troupe/core/train/schedule.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

constexpr int64_t train_samples = 256;

/// The options of every recorded run here.
core::trainer_options small_run(const std::string& dir,
                                std::vector<std::string> trace) {
  core::trainer_options o;
  o.replicas = 2;
  o.batch_size = 16;
  o.max_epochs = 2;
  o.log_every_n_steps = 3;
  o.val_every_n_steps = 4;
  o.loggers = {"csv", "jsonl"};
  o.run_dir = dir;
  o.trace = std::move(trace);
  // The replays here stand in for the pipeline, not for a checkpointer.
  o.checkpoint_dir = "none";
  return o;
}

/// Trains a small run with `trace` recorded into `dir`.
void record(const std::string& dir, std::vector<std::string> trace,
            std::vector<core::callback_ptr> callbacks = {}) {
  trainer t{small_run(dir, std::move(trace))};
  for (auto& cb : callbacks)
    t.add_callback(cb);
  REQUIRE(t.fit(recording_model(std::make_shared<micro_log>()),
                small_data(train_samples))
            .status
          == troupe::fit_status::completed);
}

/// The messages of `trace` that satisfy `keep`, in order.
template <class F>
std::vector<caf::message>
from_trace(caf::actor_system& sys, const std::string& path, F keep) {
  std::vector<caf::message> out;
  core::trace_reader r{sys, path};
  core::trace_entry e;
  while (r.next(e))
    if (keep(e))
      out.push_back(e.content);
  return out;
}

/// The bytes of `m` through CAF's binary serializer: equal bytes, equal
/// messages, bit for bit (doubles included).
std::vector<char> bytes_of(caf::actor_system& sys, const caf::message& m) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto copy = m;
  REQUIRE(!sink(copy));
  return buf;
}

bool is_exit(const caf::message& m) {
  return m.match_elements<caf::exit_msg>();
}

/// A fit_report's wall-clock field is the one thing a replay cannot repeat.
caf::message without_wall_clock(const caf::message& m) {
  if (!m.match_elements<fit_report>())
    return m;
  auto r = m.get_as<fit_report>(0);
  r.wall_seconds = 0;
  return caf::make_message(r);
}

std::string summary_without_wall_clock(const std::string& text) {
  auto i = text.find("\"wall_seconds\": ");
  auto j = text.find(',', i);
  return text.substr(0, i) + text.substr(j);
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "a replayed logger writes the same files and answers",
                 "[replay]") {
  temp_dir run;
  record(run.path(), {"logger", "coordinator"});
  temp_dir again;
  actors::replay_session replay{sys};
  actors::logger_config lc;
  lc.run_dir = again.path();
  lc.sinks = std::make_shared<std::vector<std::unique_ptr<core::sink>>>();
  lc.sinks->push_back(core::make_sink("csv", again.path()));
  lc.sinks->push_back(core::make_sink("jsonl", again.path()));
  auto logger = actors::spawn_logger(sys, std::move(lc), /*detached=*/false);
  auto out = replay.run(logger, run / "trace/logger.trace");
  CHECK(out.replayed > 10);
  CHECK(read_text(again / "metrics.csv") == read_text(run / "metrics.csv"));
  CHECK(read_text(again / "metrics.jsonl") == read_text(run / "metrics.jsonl"));
  CHECK(read_text(again / "config.json") == read_text(run / "config.json"));
  CHECK(summary_without_wall_clock(read_text(again / "summary.json"))
        == summary_without_wall_clock(read_text(run / "summary.json")));
  // What the logger answered then (recorded as responses in the
  // coordinator's trace) is what it answers now.
  auto recorded = from_trace(sys, run / "trace/coordinator.trace",
                             [](const core::trace_entry& e) {
                               return e.kind == core::trace_kind::response;
                             });
  REQUIRE(out.messages.size() == recorded.size());
  for (size_t i = 0; i < recorded.size(); ++i) {
    INFO("response " << i << ": " << caf::to_string(recorded[i]));
    CHECK(caf::to_string(without_wall_clock(out.messages[i]))
          == caf::to_string(without_wall_clock(recorded[i])));
  }
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a replayed callback answers with the same effects",
                 "[replay]") {
  temp_dir run;
  record(run.path(), {"callback", "coordinator"},
         {std::make_shared<core::ema_metric>(0.3, "train/loss")});
  actors::replay_session replay{sys};
  auto host = actors::spawn_callback_host(
    sys, std::make_shared<core::ema_metric>(0.3, "train/loss"));
  auto out = replay.run(host, run / "trace/callback-ema-train-loss.trace");
  auto recorded = from_trace(
    sys, run / "trace/coordinator.trace", [](const core::trace_entry& e) {
      return e.content.match_elements<callback_effects>();
    });
  REQUIRE(out.messages.size() == recorded.size());
  REQUIRE(recorded.size() > 16);
  size_t with_metrics = 0;
  for (size_t i = 0; i < recorded.size(); ++i) {
    REQUIRE(out.messages[i].match_elements<callback_effects>());
    const auto& a = out.messages[i].get_as<callback_effects>(0);
    const auto& b = recorded[i].get_as<callback_effects>(0);
    CHECK(a == b); // doubles compared exactly
    with_metrics += a.metrics.empty() ? 0 : 1;
  }
  CHECK(with_metrics > 3);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a replayed aggregator reduces to the same bits", "[replay]") {
  temp_dir run;
  record(run.path(), {"aggregator", "coordinator"});
  actors::replay_session replay{sys};
  auto agg = actors::spawn_aggregator(
    sys, 2, replay.harness_as<actors::summary_sink_actor>());
  auto out = replay.run(agg, run / "trace/aggregator.trace");
  std::vector<step_summary> replayed;
  size_t gradients = 0;
  for (const auto& m : out.messages) {
    if (m.match_elements<step_summary>())
      replayed.push_back(m.get_as<step_summary>(0));
    gradients += m.match_elements<reduced_gradient>() ? 1 : 0;
  }
  auto recorded = from_trace(sys, run / "trace/coordinator.trace",
                             [](const core::trace_entry& e) {
                               return e.content.match_elements<step_summary>();
                             });
  REQUIRE(recorded.size() == 16);
  INFO("replayed " << out.replayed << ", skipped " << out.skipped << ", got "
                   << out.messages.size());
  for (const auto& m : out.messages)
    if (m.match_elements<actor_failure>())
      FAIL(caf::to_string(m));
  REQUIRE(replayed.size() == recorded.size());
  CHECK(gradients == 2 * 16); // one per rank per step
  for (size_t i = 0; i < recorded.size(); ++i)
    CHECK(replayed[i] == recorded[i].get_as<step_summary>(0));
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a replayed coordinator sends what the recorded one sent",
                 "[replay]") {
  temp_dir run;
  auto ema = std::make_shared<core::ema_metric>(0.3, "train/loss");
  record(run.path(), {"coordinator", "logger", "loader", "stepper", "callback"},
         {ema});
  auto trace = [&](const std::string& file) {
    return run / ("trace/" + file);
  };
  auto all = [](const core::trace_entry& e) {
    return !is_exit(e.content);
  };
  // The coordinator of the recorded run, with stand-ins for its pipeline,
  // its logger and its callback: what they receive is what it sends.
  actors::replay_session replay{sys};
  actors::coordinator_config cc;
  cc.options = small_run(run.path(), {});
  cc.sched = core::schedule::make(cc.options, train_samples);
  cc.logger = replay.peer_as<actors::logger_actor>("logger");
  cc.callbacks
    = {{ema->name(), replay.peer_as<actors::callback_actor>("callback")}};
  cc.pipeline = actors::pipeline_handles{
    replay.peer_as<actors::loader_actor>("loader"),
    replay.peer_as<actors::aggregator_actor>("aggregator"),
    {replay.peer_as<actors::stepper_actor>("stepper[0]"),
     replay.peer_as<actors::stepper_actor>("stepper[1]")}};
  // The start record carries the configuration text the trainer built;
  // the coordinator passes it through.
  auto recorded_logger = from_trace(sys, trace("logger.trace"), all);
  REQUIRE(recorded_logger.at(0).match_elements<log_start>());
  cc.config_json = recorded_logger[0].get_as<log_start>(0).config_json;
  cc.start_lines = recorded_logger[0].get_as<log_start>(0).lines;
  auto coordinator = actors::spawn_coordinator(sys, std::move(cc));
  auto out = replay.run(coordinator, trace("coordinator.trace"));
  CHECK(out.unmatched_responses == 0);
  CHECK(out.unanswered_requests == 0);
  // Its answer to the trainer: the recorded fit's report.
  REQUIRE(out.by_peer["harness"].size() == 1);
  REQUIRE(out.by_peer["harness"][0].match_elements<fit_report>());
  const auto& report = out.by_peer["harness"][0].get_as<fit_report>(0);
  CHECK(report.status == troupe::fit_status::completed);
  CHECK(report.global_step == 16);
  // Everything it sent to the logger, the loader, the callback and the
  // steppers, bit for bit and in order.
  auto compare = [&](const std::string& peer,
                     const std::vector<caf::message>& recorded) {
    std::vector<caf::message> got;
    for (const auto& m : out.by_peer[peer])
      if (!is_exit(m))
        got.push_back(m);
    INFO(peer);
    REQUIRE(got.size() == recorded.size());
    for (size_t i = 0; i < got.size(); ++i) {
      INFO("message " << i << ": " << caf::to_string(recorded[i]));
      CHECK(bytes_of(sys, got[i]) == bytes_of(sys, recorded[i]));
    }
  };
  CHECK(recorded_logger.size() > 8);
  compare("logger", recorded_logger);
  compare("loader", from_trace(sys, trace("loader.trace"), all));
  compare("callback",
          from_trace(sys, trace("callback-ema-train-loss.trace"), all));
  for (int r = 0; r < 2; ++r) {
    auto file = r == 0 ? "stepper-0.trace" : "stepper-1.trace";
    compare(r == 0 ? "stepper[0]" : "stepper[1]",
            from_trace(sys, trace(file), [](const core::trace_entry& e) {
              return e.content.match_elements<eval_request>();
            }));
  }
  CHECK(out.by_peer["aggregator"].size() == 1); // its exit, nothing else
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a replayed coordinator that diverges shows unmatched "
                 "responses",
                 "[replay]") {
  // Replayed with another logging interval, the coordinator asks the
  // logger fewer times than the recorded one did: the trace's extra answers
  // find no request.
  temp_dir run;
  record(run.path(), {"coordinator"});
  actors::replay_session replay{sys};
  actors::coordinator_config cc;
  cc.options = small_run(run.path(), {});
  cc.options.log_every_n_steps = 8;
  cc.sched = core::schedule::make(cc.options, train_samples);
  cc.logger = replay.peer_as<actors::logger_actor>("logger");
  cc.pipeline = actors::pipeline_handles{
    replay.peer_as<actors::loader_actor>("loader"),
    replay.peer_as<actors::aggregator_actor>("aggregator"),
    {replay.peer_as<actors::stepper_actor>("stepper[0]"),
     replay.peer_as<actors::stepper_actor>("stepper[1]")}};
  auto coordinator = actors::spawn_coordinator(sys, std::move(cc));
  auto out = replay.run(coordinator, run / "trace/coordinator.trace");
  CHECK(out.unmatched_responses + out.unanswered_requests > 0);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "a digest trace is refused where tensors are computed with",
                 "[replay]") {
  temp_dir run;
  auto o = small_run(run.path(), {"aggregator", "logger"});
  o.trace_tensors = core::trace_tensors::digest;
  trainer t{o};
  REQUIRE(t.fit(recording_model(std::make_shared<micro_log>()),
                small_data(train_samples))
            .status
          == troupe::fit_status::completed);
  actors::replay_session replay{sys};
  auto agg = actors::spawn_aggregator(
    sys, 2, replay.harness_as<actors::summary_sink_actor>());
  auto path = run / "trace/aggregator.trace";
  CHECK_THROWS_WITH(replay.run(agg, path),
                    Catch::Contains(path) && Catch::Contains("record 0")
                      && Catch::Contains("contribution")
                      && Catch::Contains("--trace-tensors=full"));
  caf::anon_send_exit(agg, caf::exit_reason::user_shutdown);
  // The logger's trace holds no tensors: it replays as usual.
  temp_dir again;
  actors::logger_config lc;
  lc.run_dir = again.path();
  lc.sinks = std::make_shared<std::vector<std::unique_ptr<core::sink>>>();
  lc.sinks->push_back(core::make_sink("csv", again.path()));
  auto logger = actors::spawn_logger(sys, std::move(lc), false);
  replay.run(logger, run / "trace/logger.trace");
  CHECK(read_text(again / "metrics.csv") == read_text(run / "metrics.csv"));
}
