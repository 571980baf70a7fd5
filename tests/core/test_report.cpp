#include <catch2/catch.hpp>

#include <cmath>
#include <regex>

#include <fmt/format.h>

#include "temp_dir.hpp"
#include "troupe/core/config/config_file.hpp"
#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/report/report.hpp"
#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/json.hpp"

using namespace troupe::core;
using troupe::test::read_text;
using troupe::test::temp_dir;

namespace {

void write_run(const temp_dir& dir) {
  std::string jsonl;
  for (int s = 10; s <= 50; s += 10)
    jsonl += "{\"step\": " + std::to_string(s)
      + ", \"epoch\": 0, \"name\": \"train/loss\", \"value\": "
      + std::to_string(1.0 / s) + "}\n";
  jsonl
    += "{\"step\": 50, \"epoch\": 0, \"name\": \"val/loss\", \"value\": 0.3}\n";
  jsonl
    += "{\"step\": 50, \"epoch\": 0, \"name\": \"test/acc\", \"value\": 0.8}\n";
  write_file_atomic(dir / "metrics.jsonl", jsonl);
  // As the trainer writes it: the optimizer's defaults filled in.
  auto opts = with_optimizer_defaults(trainer_options{});
  opts.run_dir = "<x>";
  write_file_atomic(dir / "config.json",
                    config_json(opts, schedule::make(opts, 640)) + "\n");
  write_file_atomic(dir / "summary.json",
                    "{\"status\": \"completed\", \"global_step\": 50}\n");
}

/// data-points of the path whose data-series is `name`.
int points_of(const std::string& html, const std::string& name) {
  std::smatch m;
  std::regex re("<path data-series=\"" + name + "\" data-points=\"([0-9]+)\"");
  if (!std::regex_search(html, m, re))
    return -1;
  return std::stoi(m[1]);
}

} // namespace

TEST_CASE("a report holds every metric, the configuration and the summary",
          "[core][report]") {
  temp_dir dir;
  write_run(dir);
  auto run = load_run(dir.path());
  REQUIRE(run.names
          == std::vector<std::string>{"train/loss", "val/loss", "test/acc"});
  auto html = render_report(run);
  CHECK(points_of(html, "train/loss") == 5);
  CHECK(points_of(html, "train/loss \\(raw\\)") == 5);
  CHECK(points_of(html, "val/loss") == 1);
  CHECK(points_of(html, "test/acc") == 1);
  // The loss chart comes first and holds train and validation together.
  auto first_chart = html.substr(0, html.find("</svg>"));
  CHECK(first_chart.find("data-title=\"loss\"") != std::string::npos);
  CHECK(first_chart.find("data-series=\"val/loss\"") != std::string::npos);
  CHECK(html.find("<th>lr</th><td>0.02</td>") != std::string::npos);
  CHECK(html.find("&lt;x&gt;") != std::string::npos); // escaped
  CHECK(html.find("<th>status</th><td>completed</td>") != std::string::npos);
  CHECK(html.find("http") == html.find("http://www.w3.org/2000/svg"));
  CHECK(html.find("src=") == std::string::npos); // nothing external
  write_report(dir.path());
  CHECK(read_text(dir / "report.html") == html);
}

TEST_CASE("a report falls back to metrics.csv", "[core][report]") {
  temp_dir dir;
  write_file_atomic(dir / "metrics.csv",
                    "step,epoch,lr,train/loss\n10,0,0.1,0.5\n20,0,0.1,\n");
  auto run = load_run(dir.path());
  CHECK(run.series.at("train/loss").size() == 1);
  CHECK(run.series.at("lr").size() == 2);
}

TEST_CASE("a malformed metrics file is named with its line", "[core][report]") {
  temp_dir dir;
  write_file_atomic(
    dir / "metrics.jsonl",
    "{\"step\": 1, \"epoch\": 0, \"name\": \"a\", \"value\": 1}\n"
    "{\"step\": 2, \"epoch\": 0, \"name\": \"a\"\n");
  try {
    load_run(dir.path());
    FAIL("accepted");
  } catch (const data_error& e) {
    CHECK(e.file() == dir / "metrics.jsonl");
    CHECK(std::string{e.what()}.find("line 2") != std::string::npos);
  }
  temp_dir empty;
  CHECK_THROWS_AS(load_run(empty.path()), data_error);
}

TEST_CASE("smoothing is TensorBoard's debiased EMA", "[core][report]") {
  auto s = smooth({1.0, 2.0, 3.0}, 0.5);
  CHECK(s[0] == 1.0);
  CHECK(s[1] == Approx((0.5 * 0.5 * 1 + 0.5 * 2) / (1 - 0.25)));
  CHECK(smooth({4.0}, 0.0)[0] == 4.0);
}

TEST_CASE("JSON objects parse back", "[core][report]") {
  auto f = parse_json_object(
    "{\"a\": \"x\\\"y\\n\", \"b\": [1, 2], \"c\": 3.5, "
    "\"d\": {\"e\": 1}}");
  REQUIRE(f.size() == 4);
  CHECK(f[0].value == "x\"y\n");
  CHECK(f[0].is_string);
  CHECK(f[1].value == "[1, 2]");
  CHECK(f[2].value == "3.5");
  CHECK(f[3].value == "{\"e\": 1}");
  CHECK_THROWS(parse_json_object("{\"a\": 1"));
  CHECK_THROWS(parse_json_object("{\"a\" 1}"));
}

TEST_CASE("a report of constant metrics at any magnitude, and of +-1e308, "
          "draws finite charts of bounded size",
          "[core][report]") {
  for (double value : {8192.0, 10000.0, 1e15, 1e300, -3e307}) {
    INFO(value);
    temp_dir dir;
    std::string jsonl;
    for (int s = 1; s <= 20; ++s)
      jsonl += fmt::format("{{\"step\": {}, \"epoch\": 0, \"name\": "
                           "\"train/loss\", \"value\": {}}}\n",
                           s, s % 2 ? value : std::nextafter(value, 0.0));
    write_file_atomic(dir / "metrics.jsonl", jsonl);
    auto html = render_report(load_run(dir.path()));
    CHECK(html.size() < 100000);
    CHECK(html.find("nan") == std::string::npos);
    CHECK(html.find("inf") == std::string::npos);
  }
  temp_dir dir;
  write_file_atomic(dir / "metrics.jsonl",
                    "{\"step\": 1, \"epoch\": 0, \"name\": \"a\", \"value\": "
                    "1e308}\n{\"step\": 2, \"epoch\": 0, \"name\": \"a\", "
                    "\"value\": -1e308}\n{\"step\": 3, \"epoch\": 0, "
                    "\"name\": \"a\", \"value\": 1.7976931348623157e308}\n");
  auto html = render_report(load_run(dir.path()));
  CHECK(html.find("nan") == std::string::npos);
  CHECK(points_of(html, "a \\(raw\\)") == 3);
}

TEST_CASE("a report reads quoted CSV names, and names a bad cell's record",
          "[core][report]") {
  temp_dir dir;
  write_file_atomic(dir / "metrics.csv",
                    "step,epoch,\"a,b\",\"two\nlines\"\n1,0,0.5,\n2,0,,0.25\n");
  auto run = load_run(dir.path());
  CHECK(run.names == std::vector<std::string>{"a,b", "two\nlines"});
  write_file_atomic(dir / "metrics.csv", "step,epoch,a\n1,0,0.5\nx,0,1\n");
  CHECK_THROWS_WITH(load_run(dir.path()), Catch::Contains("record 3"));
  write_file_atomic(dir / "metrics.csv", "step,epoch,a\n1,0,abc\n");
  CHECK_THROWS_WITH(load_run(dir.path()), Catch::Contains("'abc'"));
}

TEST_CASE("a report refuses a config.json that the command line would",
          "[core][report]") {
  temp_dir dir;
  write_run(dir);
  write_file_atomic(dir / "config.json", "{\"lr\": \"\\uZZZZ\"}\n");
  CHECK_THROWS_AS(load_run(dir.path()), data_error);
  write_file_atomic(dir / "config.json", "{\"lr\": -1, \"train_samples\": 1}");
  CHECK_THROWS_WITH(load_run(dir.path()), Catch::Contains("field 'lr'"));
}
