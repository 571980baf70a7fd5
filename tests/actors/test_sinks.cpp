// Several sinks at once get each record exactly once; a sink that fails
// mid-run is reported once with its path while the others keep every record.

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <sstream>

#include "boring_model.hpp"
#include "metrics_reader.hpp"
#include "temp_dir.hpp"
#include "tfevents_reader.hpp"
#include "troupe/actors/trainer.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

using point_key = std::pair<int64_t, std::string>;

/// (step, name) -> value from metrics.csv; each cell is one point.
std::map<point_key, double> csv_points(const std::string& path) {
  std::map<point_key, double> out;
  std::stringstream in(read_text(path));
  std::string header;
  std::getline(in, header);
  std::vector<std::string> cols;
  {
    std::stringstream hs(header);
    std::string c;
    while (std::getline(hs, c, ','))
      cols.push_back(c);
  }
  std::string row;
  while (std::getline(in, row)) {
    std::vector<std::string> cells;
    std::stringstream rs(row);
    std::string c;
    while (std::getline(rs, c, ','))
      cells.push_back(c);
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
