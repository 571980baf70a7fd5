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
#include "troupe/actors/logger.hpp"
#include "troupe/actors/replay.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/trace_format.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

/// Trains a small run with `trace` recorded; returns its directory.
void record(const std::string& dir, std::vector<std::string> trace,
            std::vector<core::callback_ptr> callbacks = {},
            int64_t replicas = 2) {
  core::trainer_options o;
  o.replicas = replicas;
  o.batch_size = 16;
  o.max_epochs = 2;
  o.log_every_n_steps = 3;
  o.val_every_n_steps = 4;
  o.loggers = {"csv", "jsonl"};
  o.run_dir = dir;
  o.trace = std::move(trace);
  trainer t{o};
  for (auto& cb : callbacks)
    t.add_callback(cb);
  REQUIRE(t.fit(recording_model(std::make_shared<micro_log>()), small_data(256))
            .status
          == "completed");
}

/// The messages of `trace` that satisfy `keep`, in order.
template <class F>
std::vector<caf::message> from_trace(caf::actor_system& sys,
                                     const std::string& path, F keep) {
  std::vector<caf::message> out;
  core::trace_reader r{sys, path};
  core::trace_entry e;
  while (r.next(e))
    if (keep(e))
      out.push_back(e.content);
  return out;
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
  auto recorded = from_trace(sys, run / "trace/coordinator.trace",
                             [](const core::trace_entry& e) {
                               return e.content
                                 .match_elements<callback_effects>();
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
                 "a replayed aggregator reduces to the same bits",
                 "[replay]") {
  temp_dir run;
  record(run.path(), {"aggregator", "coordinator"});
  actors::replay_session replay{sys};
  auto agg = actors::spawn_aggregator(sys, 2, replay.harness());
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
