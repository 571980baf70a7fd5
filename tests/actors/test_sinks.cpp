// Several sinks at once get each record exactly once; a sink that fails
// mid-run is reported once with its path while the others keep every record.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "boring_model.hpp"
#include "metrics_reader.hpp"
#include "temp_dir.hpp"
#include "tfevents_reader.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/logging/csv.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

using point_key = std::pair<int64_t, std::string>;

/// (step, name) -> value from metrics.csv; each cell is one point.
std::map<point_key, double> csv_points(const std::string& path) {
  std::map<point_key, double> out;
  std::ifstream in(path);
  std::vector<std::string> cols;
  REQUIRE(core::read_csv_record(in, cols));
  std::vector<std::string> cells;
  while (core::read_csv_record(in, cells)) {
    auto step = std::stoll(cells.at(0));
    for (size_t i = 2; i < cells.size(); ++i)
      if (!cells[i].empty())
        REQUIRE(
          out.emplace(point_key{step, cols.at(i)}, std::stod(cells[i])).second);
  }
  return out;
}

/// (step, tag) -> value of every scalar in an event file; a second value for
/// one (step, tag) fails the test.
std::map<point_key, float> tb_points(const std::string& path) {
  std::map<point_key, float> out;
  for (const auto& e : read_tf_events(path))
    for (const auto& v : e.values)
      if (v.has_simple_value)
        REQUIRE(out.emplace(point_key{e.step, v.tag}, v.simple_value).second);
  return out;
}

core::trainer_options options(const std::string& dir) {
  core::trainer_options o;
  o.replicas = 2;
  o.batch_size = 16;
  o.max_epochs = 2;
  o.log_every_n_steps = 3;
  o.val_every_n_steps = 5;
  o.loggers = {"csv", "jsonl", "tensorboard"};
  o.run_dir = dir;
  return o;
}

} // namespace

TEST_CASE("CSV, JSONL and TensorBoard hold the same points, once each",
          "[actors][sinks]") {
  temp_dir dir;
  trainer t{options(dir.path())};
  t.add_callback(std::make_shared<core::ema_metric>(0.2, "train/loss"));
  auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                      small_data(512));
  REQUIRE(report.status == troupe::fit_status::completed);
  CHECK(report.sink_errors.empty());
  auto jsonl = read_points(dir / "metrics.jsonl");
  std::map<point_key, double> from_jsonl;
  for (const auto& p : jsonl)
    REQUIRE(from_jsonl.emplace(point_key{p.step, p.name}, p.value).second);
  auto from_csv = csv_points(dir / "metrics.csv");
  auto path = events_file(dir.path());
  REQUIRE(!path.empty());
  auto from_tb = tb_points(path);
  REQUIRE(from_jsonl.size() > 40);
  CHECK(from_csv.size() == from_jsonl.size());
  CHECK(from_tb.size() == from_jsonl.size());
  for (const auto& [key, value] : from_jsonl) {
    INFO(key.second << " at step " << key.first);
    REQUIRE(from_csv.count(key) == 1);
    REQUIRE(from_tb.count(key) == 1);
    CHECK(from_csv.at(key) == value); // shortest round-trip text
    CHECK(from_tb.at(key) == static_cast<float>(value));
  }
  // The configuration went in as a text summary.
  auto events = read_tf_events(path);
  REQUIRE(events.size() >= 2);
  CHECK(events[0].file_version == "brain.Event:2");
  CHECK(events[1].values.at(0).plugin_name == "text");
}

TEST_CASE("a sink failing mid-run is reported once, the others keep going",
          "[actors][sinks]") {
  temp_dir dir;
  // metrics.jsonl opens fine and fails at its first write.
  std::filesystem::create_symlink("/dev/full", dir / "metrics.jsonl");
  auto o = options(dir.path());
  o.overwrite = true;
  trainer t{o};
  auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                      small_data(512));
  CHECK(report.status == troupe::fit_status::completed);
  REQUIRE(report.sink_errors.size() == 1);
  CHECK(report.sink_errors[0].find(dir / "metrics.jsonl") != std::string::npos);
  CHECK(report.sink_errors[0].find("jsonl") != std::string::npos);
  auto from_csv = csv_points(dir / "metrics.csv");
  auto from_tb = tb_points(events_file(dir.path()));
  REQUIRE(from_csv.size() > 40);
  CHECK(from_tb.size() == from_csv.size());
  for (const auto& [key, value] : from_csv) {
    REQUIRE(from_tb.count(key) == 1);
    CHECK(from_tb.at(key) == static_cast<float>(value));
  }
  auto summary = read_text(dir / "summary.json");
  CHECK(summary.find("\"sink_errors\"") != std::string::npos);
  CHECK(summary.find("\"status\": \"completed\"") != std::string::npos);
}

namespace {

/// recording_model's classifier with its accuracy logged under `name`.
core::model_def model_naming_acc(std::string name) {
  auto def = recording_model(std::make_shared<micro_log>());
  auto inner = def.step;
  def.step = [inner, name](torch::nn::Module& m, const at::Tensor& x,
                           const at::Tensor& y) {
    auto out = inner(m, x, y);
    for (auto& metric : out.metrics)
      if (metric.name == "acc")
        metric.name = name;
    return out;
  };
  return def;
}

} // namespace

TEST_CASE("metric names with commas, quotes and any script reach every sink "
          "intact",
          "[actors][sinks]") {
  temp_dir dir;
  std::string name = "acc, \"top-1\" \xc3\xa9";
  trainer t{options(dir.path())};
  auto report = t.fit(model_naming_acc(name), small_data(512));
  REQUIRE(report.status == troupe::fit_status::completed);
  CHECK(report.sink_errors.empty());
  auto from_csv = csv_points(dir / "metrics.csv");
  std::map<point_key, double> from_jsonl;
  for (const auto& p : read_points(dir / "metrics.jsonl"))
    REQUIRE(from_jsonl.emplace(point_key{p.step, p.name}, p.value).second);
  auto from_tb = tb_points(events_file(dir.path()));
  CHECK(from_csv.size() == from_jsonl.size());
  CHECK(from_tb.size() == from_jsonl.size());
  size_t named = 0;
  for (const auto& [key, value] : from_jsonl) {
    INFO(key.second << " at step " << key.first);
    REQUIRE(from_csv.count(key) == 1);
    REQUIRE(from_tb.count(key) == 1);
    named += key.second == "train/" + name || key.second == "val/" + name;
  }
  CHECK(named > 4);
  CHECK(read_text(dir / "summary.json").find("\"test/" + name)
        == std::string::npos);
}

TEST_CASE("a model metric name no sink can hold fails the fit naming the "
          "step function, before any file holds it",
          "[actors][sinks]") {
  for (std::string bad :
       std::vector<std::string>{"two\nlines", "bad \xff", "loss"}) {
    INFO(bad);
    temp_dir dir;
    trainer t{options(dir.path())};
    auto report = t.fit(model_naming_acc(bad), small_data(512));
    CHECK(report.status == troupe::fit_status::failed);
    CHECK_THAT(report.error, Catch::Contains("the model's step function"));
    CHECK_THAT(report.error, Catch::Contains("at step 1"));
    CHECK(read_text(dir / "metrics.csv") == "step,epoch\n");
    CHECK(read_text(dir / "summary.json").find("\"failed\"")
          != std::string::npos);
  }
}

TEST_CASE("a summary.json that cannot be written is a lost output",
          "[actors][sinks]") {
  temp_dir dir;
  trainer t{options(dir.path())};
  // After the run directory is prepared: block the summary's temporary file.
  t.on_spawn([&](const std::string& name, const caf::actor&) {
    if (name == "logger")
      std::filesystem::create_directories(
        dir / ("summary.json.tmp." + std::to_string(::getpid())));
  });
  auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                      small_data(512));
  CHECK(report.status == troupe::fit_status::completed);
  REQUIRE(report.sink_errors.size() == 1);
  CHECK_THAT(report.sink_errors[0],
             Catch::Contains("summary.json not written")
               && Catch::Contains(dir / "summary.json"));
  CHECK_FALSE(std::filesystem::exists(dir / "summary.json"));
}
