// --trace records what each actor received, in delivery order, without
// changing the run; corrupt or truncated traces are refused with the record
// and byte offset.

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include "boring_model.hpp"
#include "system_fixture.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/trace_recorder.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/trace_format.hpp"
#include "troupe/core/errors.hpp"
#include "troupe/core/run_dir.hpp"
#include "troupe/messages/type_ids.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

core::trainer_options options(const std::string& dir) {
  core::trainer_options o;
  o.replicas = 2;
  o.batch_size = 16;
  o.max_epochs = 1;
  o.log_every_n_steps = 3;
  o.loggers = {"csv"};
  o.run_dir = dir;
  return o;
}


std::vector<core::trace_entry> read_all(caf::actor_system& sys,
                                        const std::string& path) {
  core::trace_reader r{sys, path};
  std::vector<core::trace_entry> out;
  core::trace_entry e;
  while (r.next(e))
    out.push_back(e);
  return out;
}

} // namespace

TEST_CASE("file names of traced actors", "[actors][trace]") {
  CHECK(actors::trace_recorder::file_name("stepper[1]") == "stepper-1.trace");
  CHECK(actors::trace_recorder::file_name("callback:ema(train/loss)")
        == "callback-ema-train-loss.trace");
}

TEST_CASE_METHOD(system_fixture, "a traced run records every inbox in order",
                 "[actors][trace]") {
  temp_dir plain;
  temp_dir traced;
  {
    trainer t{options(plain.path())};
    REQUIRE(t.fit(recording_model(std::make_shared<micro_log>()),
                  small_data(320))
              .status
            == "completed");
  }
  auto o = options(traced.path());
  o.trace = {"all"};
  trainer t{o};
  auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                      small_data(320)); // 10 steps
  REQUIRE(report.status == "completed");
  CHECK(report.sink_errors.empty());
  // Recording did not change the run.
  CHECK(read_text(plain / "metrics.csv") == read_text(traced / "metrics.csv"));
  auto coord = read_all(sys, traced / "trace/coordinator.trace");
  REQUIRE(!coord.empty());
  CHECK(coord.front().content.match_elements<start_atom>());
  CHECK(coord.front().kind == core::trace_kind::request);
  std::vector<int64_t> steps;
  for (const auto& e : coord)
    if (e.content.match_elements<step_summary>())
      steps.push_back(e.content.get_as<step_summary>(0).step);
  CHECK(steps == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  auto logger = read_all(sys, traced / "trace/logger.trace");
  REQUIRE(logger.size() >= 3);
  CHECK(logger.front().content.match_elements<log_start>());
  bool finished = false;
  for (const auto& e : logger)
    finished = finished || e.content.match_elements<log_finish>();
  CHECK(finished);
  for (auto name : {"aggregator", "loader", "stepper-0", "stepper-1"}) {
    INFO(name);
    core::trace_reader r{sys, traced / ("trace/" + std::string{name} + ".trace")};
    CHECK(r.header().types.size() > 10);
    CHECK(r.header().actor.find(name == std::string{"stepper-0"} ? "stepper[0]"
                                : name == std::string{"stepper-1"}
                                  ? "stepper[1]"
                                  : name)
          == 0);
  }
  // Tensors travel by value: a stepper's batches come back with their data.
  auto stepper = read_all(sys, traced / "trace/stepper-0.trace");
  bool found = false;
  for (const auto& e : stepper)
    if (e.content.match_elements<step_batch>()) {
      const auto& b = e.content.get_as<step_batch>(0);
      CHECK(b.micro.at(0).inputs.tensor.size(0) == 16);
      found = true;
    }
  CHECK(found);
}

TEST_CASE_METHOD(system_fixture, "corrupt and truncated traces are refused",
                 "[actors][trace]") {
  temp_dir dir;
  auto o = options(dir.path());
  o.trace = {"logger"};
  trainer t{o};
  REQUIRE(t.fit(recording_model(std::make_shared<micro_log>()),
                small_data(320))
            .status
          == "completed");
  auto path = dir / "trace/logger.trace";
  auto bytes = read_text(path);
  auto entries = read_all(sys, path);
  REQUIRE(entries.size() >= 3);
  auto second = entries[1].offset;
  SECTION("a flipped byte") {
    auto bad = bytes;
    bad[second + 8 + 5] ^= 0x20;
    core::trace_reader r{sys, "bad", bad};
    core::trace_entry e;
    REQUIRE(r.next(e));
    try {
      r.next(e);
      FAIL("accepted");
    } catch (const core::trace_error& err) {
      CHECK(err.record() == 1);
      CHECK(err.offset() == second);
      CHECK(std::string{err.what()}.find("record 1 at byte "
                                         + std::to_string(second))
            != std::string::npos);
    }
  }
  SECTION("a truncated file") {
    core::trace_reader r{sys, "short", bytes.substr(0, second + 20)};
    core::trace_entry e;
    REQUIRE(r.next(e));
    CHECK_THROWS_AS(r.next(e), core::trace_error);
  }
  SECTION("a damaged header") {
    auto bad = bytes;
    bad[20] ^= 0x01;
    CHECK_THROWS_AS((core::trace_reader{sys, "hdr", bad}), core::trace_error);
    CHECK_THROWS_AS((core::trace_reader{sys, "magic", "TRPTRACX" + bytes.substr(8)}),
                    core::trace_error);
  }
}

TEST_CASE("an unknown traced actor is refused", "[actors][trace]") {
  temp_dir dir;
  auto o = options(dir.path());
  o.trace = {"everything"};
  trainer t{o};
  CHECK_THROWS_AS(t.fit(recording_model(std::make_shared<micro_log>()),
                        small_data(64)),
                  core::config_error);
}
