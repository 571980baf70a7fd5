// troupe-trace render: a finished run's metric files rebuilt offline with
// another logging interval and reduction equal a fresh run's.

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include "boring_model.hpp"
#include "deterministic_fixture.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/trace/render.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

fit_report train(const std::string& dir, int64_t log_every,
                 std::map<std::string, core::reduction_spec> reduce,
                 std::vector<std::string> trace, int64_t max_steps = -1) {
  core::trainer_options o;
  o.replicas = 2;
  o.accumulate = 2;
  o.batch_size = 8;
  o.max_epochs = 3;
  o.max_steps = max_steps;
  o.val_every_n_steps = 7;
  o.log_every_n_steps = log_every;
  o.reduce = std::move(reduce);
  o.loggers = {"csv", "jsonl"};
  o.run_dir = dir;
  o.trace = std::move(trace);
  o.seed = 3;
  trainer t{o};
  auto r = t.fit(recording_model(std::make_shared<micro_log>()),
                 small_data(400));
  REQUIRE(r.status == troupe::fit_status::completed);
  return r;
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "rendering a trace with other settings equals a fresh run",
                 "[replay][render]") {
  temp_dir recorded;
  train(recorded.path(), 5, {}, {"coordinator"});
  std::map<std::string, core::reduction_spec> ema{
    {"train/loss", core::parse_reduction("ema:0.02")},
    {"train/acc", core::parse_reduction("max")}};
  for (int64_t every : {1, 4, 10}) {
    INFO("log every " << every);
    temp_dir fresh;
    train(fresh.path(), every, ema, {});
    temp_dir out;
    core::render_options ro;
    ro.run_dir = recorded.path();
    ro.out_dir = out.path();
    ro.log_every_n_steps = every;
    ro.reduce = ema;
    CHECK(core::render_metrics(sys, ro) == 3 * 12);
    CHECK(read_text(out / "metrics.csv") == read_text(fresh / "metrics.csv"));
    CHECK(read_text(out / "metrics.jsonl")
          == read_text(fresh / "metrics.jsonl"));
  }
}

TEST_CASE_METHOD(deterministic_fixture,
                 "rendering a run cut by max_steps keeps its epoch ends",
                 "[replay][render]") {
  temp_dir recorded;
  train(recorded.path(), 3, {}, {"coordinator"}, 17);
  temp_dir fresh;
  train(fresh.path(), 2, {}, {}, 17);
  temp_dir out;
  core::render_options ro;
  ro.run_dir = recorded.path();
  ro.out_dir = out.path();
  ro.log_every_n_steps = 2;
  CHECK(core::render_metrics(sys, ro) == 17);
  CHECK(read_text(out / "metrics.jsonl") == read_text(fresh / "metrics.jsonl"));
}

TEST_CASE_METHOD(deterministic_fixture, "rendering needs a coordinator trace",
                 "[replay][render]") {
  temp_dir recorded;
  train(recorded.path(), 5, {}, {"logger"});
  temp_dir out;
  core::render_options ro;
  ro.run_dir = recorded.path();
  ro.out_dir = out.path();
  CHECK_THROWS_WITH(core::render_metrics(sys, ro),
                    Catch::Contains("coordinator.trace"));
}
