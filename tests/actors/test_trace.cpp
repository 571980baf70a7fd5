// --trace records what each actor received, in delivery order, without
// changing the run; corrupt or truncated traces are refused with the record
// and byte offset.

#include <catch2/catch.hpp>

#include <algorithm>

#include <caf/all.hpp>

#include "boring_model.hpp"
#include "system_fixture.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/trace_recorder.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/trace/trace_format.hpp"
#include "troupe/core/util/crc32c.hpp"
#include "troupe/core/util/errors.hpp"
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
    REQUIRE(
      t.fit(recording_model(std::make_shared<micro_log>()), small_data(320))
        .status
      == troupe::fit_status::completed);
  }
  auto o = options(traced.path());
  o.trace = {"all"};
  trainer t{o};
  auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                      small_data(320)); // 10 steps
  REQUIRE(report.status == troupe::fit_status::completed);
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
    core::trace_reader r{sys,
                         traced / ("trace/" + std::string{name} + ".trace")};
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
  REQUIRE(t.fit(recording_model(std::make_shared<micro_log>()), small_data(320))
            .status
          == troupe::fit_status::completed);
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
    CHECK_THROWS_AS(
      (core::trace_reader{sys, "magic", "TRPTRACX" + bytes.substr(8)}),
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

TEST_CASE_METHOD(system_fixture,
                 "records find their types by name, and a type this reader "
                 "does not know is refused naming it",
                 "[actors][trace]") {
  temp_dir dir;
  auto path = dir / "other.trace";
  // A writer whose list is in another order, with one type renamed and one
  // it knows that this reader does not.
  auto types = core::troupe_type_names();
  std::reverse(types.begin(), types.end());
  auto batch = std::find(types.begin(), types.end(), "troupe::log_batch");
  REQUIRE(batch != types.end());
  *batch = "troupe::log_batch_renamed";
  types.push_back("troupe::from_the_future");
  uint64_t permit_at = 0;
  {
    core::trace_writer w{sys, path, "logger", types};
    w.append(core::trace_kind::async, 7, 0, caf::make_message(step_permit{12}));
    w.append(core::trace_kind::async, 7, 0, caf::make_message(start_atom_v));
    // Not in the writer's list under its name: written generically.
    w.append(core::trace_kind::request, 7, 3, caf::make_message(log_batch{}));
    w.append(core::trace_kind::async, 7, 0, caf::make_message(step_permit{13}));
    w.close();
  }
  {
    core::trace_reader r{sys, path};
    core::trace_entry e;
    REQUIRE(r.next(e));
    REQUIRE(e.content.match_elements<step_permit>());
    CHECK(e.content.get_as<step_permit>(0).last_step == 12);
    REQUIRE(r.next(e));
    CHECK(e.content.match_elements<start_atom>());
    REQUIRE(r.next(e));
    CHECK(e.content.match_elements<log_batch>());
    CHECK(e.message_id == 3);
    REQUIRE(r.next(e));
    CHECK(e.content.match_elements<step_permit>());
    permit_at = e.offset;
    CHECK_FALSE(r.next(e));
  }
  // The last record retagged as the future type, checksum fixed: refused,
  // naming the record and the type.
  auto bytes = read_text(path);
  uint16_t future = static_cast<uint16_t>(types.size() - 1);
  auto tag = permit_at + 8 + 1 + 8 + 8; // framing, kind, sender, message ID
  // CAF's binary serializer writes integers in network byte order.
  bytes[tag] = static_cast<char>(future >> 8);
  bytes[tag + 1] = static_cast<char>(future & 0xff);
  uint32_t size = 0;
  for (int i = 3; i >= 0; --i)
    size = (size << 8) | static_cast<unsigned char>(bytes[permit_at + i]);
  auto crc = core::crc32c(bytes.data() + permit_at + 8, size);
  for (int i = 0; i < 4; ++i)
    bytes[permit_at + 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  core::trace_reader r{sys, "future", bytes};
  core::trace_entry e;
  for (int i = 0; i < 3; ++i)
    REQUIRE(r.next(e));
  CHECK_THROWS_WITH(r.next(e),
                    Catch::Contains("record 3")
                      && Catch::Contains("troupe::from_the_future"));
}
