#include <catch2/catch.hpp>

#include "temp_dir.hpp"
#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/logging/sinks.hpp"
#include "troupe/core/util/errors.hpp"

using namespace troupe;
using namespace troupe::core;
using troupe::test::read_text;
using troupe::test::temp_dir;

TEST_CASE("CSV: one row per step, header widened on a new name",
          "[core][sinks]") {
  temp_dir dir;
  csv_sink csv{dir / "metrics.csv"};
  csv.write(10, 0, {{"train/loss", 0.5}, {"lr", 0.1}});
  csv.write(20, 0, {{"train/loss", 0.25}, {"lr", 0.1}});
  csv.write(20, 0, {{"val/loss", 0.75}}); // same step: same row
  csv.write(30, 1, {{"train/loss", 0.125}, {"lr", 0.1}});
  csv.close();
  CHECK(read_text(dir / "metrics.csv")
        == "step,epoch,lr,train/loss,val/loss\n"
           "10,0,0.1,0.5,\n"
           "20,0,0.1,0.25,0.75\n"
           "30,1,0.1,0.125,\n");
}

TEST_CASE("JSONL: one object per value", "[core][sinks]") {
  temp_dir dir;
  jsonl_sink j{dir / "metrics.jsonl"};
  j.write(3, 1, {{"a", 1.5}, {"b", 2}});
  j.close();
  CHECK(read_text(dir / "metrics.jsonl")
        == "{\"step\": 3, \"epoch\": 1, \"name\": \"a\", \"value\": 1.5}\n"
           "{\"step\": 3, \"epoch\": 1, \"name\": \"b\", \"value\": 2}\n");
}

TEST_CASE("a sink on a full device fails with its path", "[core][sinks]") {
  jsonl_sink j{"/dev/full"};
  try {
    j.write(1, 0, {{"a", 1}});
    FAIL("write to /dev/full succeeded");
  } catch (const output_error& e) {
    CHECK(std::string{e.what()}.find("/dev/full") != std::string::npos);
  }
}

TEST_CASE("console: plain lines without a terminal", "[core][sinks]") {
  temp_dir dir;
  FILE* f = std::fopen((dir / "out.txt").c_str(), "w");
  {
    console_sink c{f, 0};
    c.line("hello");
    c.progress({0, 3, 50, 100, 0.5});
    c.write(50, 0, {{"val/acc", 0.75}, {"train/loss", 0.5}});
    c.close();
  }
  std::fclose(f);
  auto text = read_text(dir / "out.txt");
  CHECK(text.find("hello\n") == 0);
  CHECK(text.find("epoch 1/3 step 50/100 loss 0.5000") != std::string::npos);
  CHECK(text.find("val/acc 0.7500") != std::string::npos);
  CHECK(text.find('\r') == std::string::npos);
}

TEST_CASE("console: the progress line is cleared before a log line",
          "[core][sinks]") {
  temp_dir dir;
  FILE* f = std::fopen((dir / "out.txt").c_str(), "w");
  {
    console_sink c{f, 1};
    c.progress({0, 1, 1, 10, 0.5});
    c.line("message");
    c.close();
  }
  std::fclose(f);
  auto text = read_text(dir / "out.txt");
  // The bar, then erase, the line on a row of its own, then the bar again.
  auto bar = text.find("epoch 1/1 step 1/10");
  auto erase = text.find("\r\033[2Kmessage\n");
  REQUIRE(bar != std::string::npos);
  REQUIRE(erase != std::string::npos);
  CHECK(bar < erase);
  CHECK(text.rfind("epoch 1/1 step 1/10") > erase);
}

TEST_CASE("run directories", "[core][sinks]") {
  temp_dir dir;
  CHECK(next_version_dir(dir.path(), "x") == dir / "x/version_0");
  prepare_run_dir(dir / "x/version_0", false);
  CHECK(next_version_dir(dir.path(), "x") == dir / "x/version_1");
  write_file_atomic(dir / "x/version_0/metrics.csv", "step,epoch\n");
  CHECK_THROWS_AS(prepare_run_dir(dir / "x/version_0", false), output_error);
  prepare_run_dir(dir / "x/version_0", true);
  write_file_atomic(dir / "file", "not a directory");
  try {
    prepare_run_dir(dir / "file/sub", false);
    FAIL("accepted");
  } catch (const output_error& e) {
    CHECK(std::string{e.what()}.find(dir / "file/sub") != std::string::npos);
  }
}

TEST_CASE("CSV: a flushed row is on disk and amended in place",
          "[core][sinks]") {
  temp_dir dir;
  csv_sink csv{dir / "metrics.csv"};
  csv.write(10, 0, {{"train/loss", 0.5}});
  csv.flush();
  CHECK(read_text(dir / "metrics.csv") == "step,epoch,train/loss\n10,0,0.5\n");
  csv.write(10, 0, {{"test/acc", 0.75}}); // same step, a new column
  csv.flush();
  CHECK(read_text(dir / "metrics.csv")
        == "step,epoch,test/acc,train/loss\n10,0,0.75,0.5\n");
  csv.write(20, 1, {{"train/loss", 0.25}});
  csv.flush();
  csv.write(20, 1, {{"test/acc", 0.5}});
  csv.close();
  CHECK(read_text(dir / "metrics.csv")
        == "step,epoch,test/acc,train/loss\n10,0,0.75,0.5\n20,1,0.5,0.25\n");
}
