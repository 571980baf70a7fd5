// Golden traces: the order of the events callbacks see and of the records
// the logger sees, for a small fixed run, checked in under
// tests/replay/golden/. And the determinism proof: the same run with 1, 2 and
// 4 scheduler threads records the same traces.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "boring_model.hpp"
#include "system_fixture.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/trace/trace_format.hpp"
#include "troupe/core/util/json.hpp"
#include "troupe/messages/type_ids.hpp"

#ifndef TROUPE_GOLDEN_DIR
#  error "TROUPE_GOLDEN_DIR must name tests/replay/golden"
#endif

using namespace troupe;
using namespace troupe::test;

namespace {

/// The fixed run: 1 replica, 8 steps, validation every 3, logging every 2,
/// one callback that logs and answers every event.
void fixed_run(const std::string& dir, int64_t threads, int64_t replicas = 1) {
  core::trainer_options o;
  o.replicas = replicas;
  o.batch_size = 16;
  o.max_epochs = 2;
  o.log_every_n_steps = 2;
  o.val_every_n_steps = 3;
  o.scheduler_threads = threads;
  o.loggers = {"csv"};
  o.run_dir = dir;
  o.trace = {"all"};
  trainer t{o};
  t.add_callback(std::make_shared<core::ema_metric>(0.5, "train/loss"));
  REQUIRE(t.fit(recording_model(std::make_shared<micro_log>()),
                small_data(64 * replicas))
            .status
          == troupe::fit_status::completed);
}

std::string names(const metric_values& xs) {
  std::string out;
  for (const auto& x : xs)
    out += (out.empty() ? "" : ",") + x.name;
  return "[" + out + "]";
}

/// One line per record: its type and what fixes the order (steps, names),
/// no float values (those belong to the replay tests).
std::string order_line(const caf::message& m) {
  if (m.match_elements<fit_start_event>())
    return fmt::format("fit_start total_steps={}",
                       m.get_as<fit_start_event>(0).total_steps);
  if (m.match_elements<train_step_end_event>()) {
    const auto& e = m.get_as<train_step_end_event>(0);
    return fmt::format("train_step_end step={} epoch={} log_step={} reduced={}",
                       e.step, e.epoch, e.log_step, names(e.reduced));
  }
  if (m.match_elements<validation_end_event>()) {
    const auto& e = m.get_as<validation_end_event>(0);
    return fmt::format("validation_end step={} {}", e.step, names(e.metrics));
  }
  if (m.match_elements<epoch_end_event>()) {
    const auto& e = m.get_as<epoch_end_event>(0);
    return fmt::format("epoch_end epoch={} step={} {}", e.epoch, e.step,
                       names(e.metrics));
  }
  if (m.match_elements<fit_end_event>()) {
    const auto& e = m.get_as<fit_end_event>(0);
    return fmt::format("fit_end step={} status={} {}", e.step,
                       to_string(e.status), names(e.metrics));
  }
  if (m.match_elements<log_start>())
    return fmt::format("log_start lines={}",
                       m.get_as<log_start>(0).lines.size());
  if (m.match_elements<log_batch>()) {
    const auto& b = m.get_as<log_batch>(0);
    return fmt::format("log_batch step={} epoch={} {} lines={} progress={}",
                       b.step, b.epoch, names(b.metrics), b.lines.size(),
                       b.progress.total_steps > 0);
  }
  if (m.match_elements<log_finish>()) {
    const auto& r = m.get_as<log_finish>(0).report;
    return fmt::format("log_finish status={} global_step={}",
                       to_string(r.status), r.global_step);
  }
  if (m.match_elements<caf::exit_msg>())
    return "exit";
  return "other " + caf::to_string(m).substr(0, 40);
}

std::vector<std::string> order_of(caf::actor_system& sys,
                                  const std::string& path) {
  std::vector<std::string> out;
  core::trace_reader r{sys, path};
  core::trace_entry e;
  while (r.next(e))
    out.push_back(order_line(e.content));
  return out;
}

/// Compares with the golden file; on a difference, a readable diff of the
/// first differing lines. TROUPE_UPDATE_GOLDEN=1 rewrites the file and fails,
/// so that the new file is reviewed before it counts.
void check_golden(const std::vector<std::string>& lines,
                  const std::string& name) {
  auto path = std::string{TROUPE_GOLDEN_DIR} + "/" + name;
  std::string text;
  for (const auto& l : lines)
    text += l + "\n";
  if (const char* upd = std::getenv("TROUPE_UPDATE_GOLDEN");
      upd != nullptr && std::string{upd} == "1") {
    std::ofstream(path) << text;
    // Never a silent pass: the new file is for a person to review. A check
    // that fails and goes on, so that one run rewrites every golden file.
    FAIL_CHECK(
      "TROUPE_UPDATE_GOLDEN=1: rewrote "
      << path
      << "; review the diff (git diff tests/replay/golden), commit it if "
         "the change is intended, and rerun without the variable");
    return;
  }
  std::vector<std::string> golden;
  {
    std::ifstream in(path);
    REQUIRE(in.good());
    std::string l;
    while (std::getline(in, l))
      golden.push_back(l);
  }
  if (golden == lines)
    return;
  size_t i = 0;
  while (i < golden.size() && i < lines.size() && golden[i] == lines[i])
    ++i;
  std::string diff = fmt::format("{} differs from this run at line {}:\n", path,
                                 i + 1);
  for (size_t k = (i >= 2 ? i - 2 : 0);
       k < std::max(golden.size(), lines.size()) && k < i + 4; ++k) {
    if (k < i) {
      diff += "  " + golden[k] + "\n";
      continue;
    }
    if (k < golden.size())
      diff += "- " + golden[k] + "\n";
    if (k < lines.size())
      diff += "+ " + lines[k] + "\n";
  }
  FAIL(diff);
}

/// The records of a trace as bytes, normalized: log_start's configuration
/// loses scheduler_threads (what the runs differ in on purpose).
std::vector<std::string> records_of(caf::actor_system& sys,
                                    const std::string& path) {
  std::vector<std::string> out;
  core::trace_reader r{sys, path};
  core::trace_entry e;
  while (r.next(e)) {
    auto content = e.content;
    // Exit and down messages carry actor addresses, which differ per run.
    if (content.match_elements<caf::exit_msg>()
        || content.match_elements<caf::down_msg>())
      continue;
    // Wall-clock fields, and the logger queue's peak (timing by nature).
    auto clean = [](fit_report r) {
      r.wall_seconds = 0;
      r.peak_log_queue = 0;
      return r;
    };
    if (content.match_elements<fit_report>())
      content = caf::make_message(clean(content.get_as<fit_report>(0)));
    if (content.match_elements<log_finish>())
      content = caf::make_message(
        log_finish{clean(content.get_as<log_finish>(0).report)});
    if (content.match_elements<log_start>()) {
      auto x = content.get_as<log_start>(0);
      core::json_object j;
      for (const auto& f : core::parse_json_object(x.config_json))
        if (f.key != "scheduler_threads" && f.key != "run_dir")
          j.add_raw(f.key, f.is_string ? core::json_quote(f.value) : f.value);
      x.config_json = j.str();
      x.lines.clear(); // they name the run directory
      content = caf::make_message(x);
    }
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    auto kind = static_cast<uint8_t>(e.kind);
    REQUIRE(!sink(kind, content));
    out.emplace_back(buf.begin(), buf.end());
  }
  return out;
}

} // namespace

TEST_CASE_METHOD(system_fixture, "golden event and record orders",
                 "[replay][golden]") {
  temp_dir dir;
  fixed_run(dir.path(), 2);
  check_golden(order_of(sys, dir / "trace/callback-ema-train-loss.trace"),
               "callback_events.txt");
  check_golden(order_of(sys, dir / "trace/logger.trace"), "logger_records.txt");
}

TEST_CASE_METHOD(system_fixture,
                 "1, 2 and 4 scheduler threads record the same traces",
                 "[replay][determinism]") {
  std::vector<std::unique_ptr<temp_dir>> dirs;
  for (int64_t threads : {1, 2, 4}) {
    dirs.push_back(std::make_unique<temp_dir>());
    fixed_run(dirs.back()->path(), threads, /*replicas=*/2);
  }
  // Actors with one sender receive in one order: identical record by record.
  for (auto name :
       {"logger.trace", "callback-ema-train-loss.trace", "loader.trace"}) {
    INFO(name);
    auto a = records_of(sys, *dirs[0] / ("trace/" + std::string{name}));
    REQUIRE(a.size() > 5);
    for (size_t i = 1; i < dirs.size(); ++i)
      CHECK(records_of(sys, *dirs[i] / ("trace/" + std::string{name})) == a);
  }
  // Actors with several senders (replicas, aggregator, logger, callbacks)
  // interleave them by timing; what each received is the same, bit for bit.
  for (auto name : {"coordinator.trace", "aggregator.trace", "stepper-0.trace",
                    "stepper-1.trace"}) {
    INFO(name);
    auto a = records_of(sys, *dirs[0] / ("trace/" + std::string{name}));
    std::sort(a.begin(), a.end());
    REQUIRE(a.size() > 5);
    for (size_t i = 1; i < dirs.size(); ++i) {
      auto b = records_of(sys, *dirs[i] / ("trace/" + std::string{name}));
      std::sort(b.begin(), b.end());
      CHECK(b == a);
    }
  }
}
