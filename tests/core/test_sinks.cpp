#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <csignal>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "temp_dir.hpp"
#include "tfevents_reader.hpp"
#include "troupe/core/logging/csv.hpp"
#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/logging/sinks.hpp"
#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/json.hpp"

using namespace troupe;
using namespace troupe::core;
using troupe::test::read_text;
using troupe::test::temp_dir;

namespace {

/// Limits the size of files this process writes (RLIMIT_FSIZE) for its
/// lifetime: writes past it fail with EFBIG, as on a full disk.
class file_size_limit {
public:
  explicit file_size_limit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    previous_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit r = old_;
    r.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &r);
  }
  ~file_size_limit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, previous_);
  }

private:
  rlimit old_{};
  void (*previous_)(int) = nullptr;
};

/// Writes steps into `s` until it throws; returns the steps written.
int64_t write_until_full(sink& s) {
  for (int64_t step = 1; step < 100000; ++step) {
    try {
      s.write(step, 0, {{"train/loss", 0.123456789 * step}, {"lr", 0.5}});
      s.flush();
    } catch (const output_error&) {
      s.abandon();
      return step - 1;
    }
  }
  FAIL("the file never filled up");
  return 0;
}

} // namespace

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
  auto v0 = create_version_dir(dir.path(), "x");
  CHECK(v0 == dir / "x/version_0");
  CHECK(std::filesystem::is_directory(v0));
  CHECK(create_version_dir(dir.path(), "x") == dir / "x/version_1");
  prepare_run_dir(v0, false);
  write_file_atomic(v0 + "/metrics.csv", "step,epoch\n");
  CHECK_THROWS_AS(prepare_run_dir(v0, false), output_error);
  prepare_run_dir(v0, true);
  write_file_atomic(dir / "file", "not a directory");
  try {
    prepare_run_dir(dir / "file/sub", false);
    FAIL("accepted");
  } catch (const output_error& e) {
    CHECK(std::string{e.what()}.find(dir / "file/sub") != std::string::npos);
  }
}

TEST_CASE("--overwrite removes every file of the previous run, nothing else",
          "[core][sinks]") {
  temp_dir dir;
  auto run = dir / "run";
  std::filesystem::create_directories(run + "/trace");
  std::filesystem::create_directories(run + "/checkpoints");
  for (const char* f :
       {"metrics.csv", "metrics.jsonl", "summary.json", "config.json",
        "report.html", "events.out.tfevents.1.host", "trace/logger.trace",
        "checkpoints/step_10.pt", "config.json.tmp.99", "notes.txt"})
    write_file_atomic(run + "/" + f, "old");
  {
    auto lock = prepare_run_dir(run, true);
    CHECK(lock.held());
  }
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(run))
    left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{".troupe.lock", "notes.txt"});
}

TEST_CASE("one run per directory: a second lock is refused naming the "
          "directory and the holder's pid",
          "[core][sinks]") {
  temp_dir dir;
  auto lock = prepare_run_dir(dir / "run", false);
  REQUIRE(lock.held());
  try {
    prepare_run_dir(dir / "run", true);
    FAIL("a second run took the directory");
  } catch (const output_error& e) {
    std::string what = e.what();
    CHECK(what.find(dir / "run") != std::string::npos);
    CHECK(what.find("pid " + std::to_string(::getpid())) != std::string::npos);
  }
  lock.release();
  CHECK(prepare_run_dir(dir / "run", true).held());
}

TEST_CASE("write_file_atomic replaces regular files only", "[core][sinks]") {
  temp_dir dir;
  auto fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(write_file_atomic(fifo, "x"),
                    Catch::Contains("not a regular file"));
  struct stat st {};
  REQUIRE(::lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK_THROWS_AS(write_file_atomic(dir / "missing/dir/file", "x"),
                  output_error);
  // A link is written through: the target replaced, the link kept.
  write_file_atomic(dir / "target.json", "old");
  std::filesystem::create_symlink(dir / "target.json", dir / "link.json");
  write_file_atomic(dir / "link.json", "new");
  CHECK(std::filesystem::is_symlink(dir / "link.json"));
  CHECK(read_text(dir / "target.json") == "new");
  std::filesystem::create_symlink(fifo, dir / "to_fifo");
  CHECK_THROWS_WITH(write_file_atomic(dir / "to_fifo", "x"),
                    Catch::Contains("not a regular file"));
}

TEST_CASE("CSV: a failed amend puts the row it took back", "[core][sinks]") {
  temp_dir dir;
  csv_sink csv{dir / "metrics.csv"};
  csv.write(1, 0, {{"a", 1}, {"b", 1}});
  csv.flush();
  csv.write(2, 0, {{"a", 2}});
  csv.flush();
  auto before = read_text(dir / "metrics.csv");
  REQUIRE(before == "step,epoch,a,b\n1,0,1,1\n2,0,2,\n");
  // Step 2 gets more values: its row is taken back, then cannot be written
  // again (the file may not grow).
  csv.write(2, 0, {{"b", 0.123456789}});
  {
    file_size_limit limit{before.size()};
    CHECK_THROWS_AS(csv.flush(), output_error);
  }
  csv.abandon();
  CHECK(read_text(dir / "metrics.csv") == before);
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

TEST_CASE("CSV: names holding commas, quotes and line breaks are quoted "
          "(RFC 4180), header included, and read back as they were",
          "[core][sinks]") {
  temp_dir dir;
  std::vector<std::string> names{"a,b", "say \"hi\"", "two\nlines", "plain"};
  {
    csv_sink csv{dir / "metrics.csv"};
    // Each new name widens the header (the rewrite that once split the
    // header on every comma and wrote past its array).
    for (size_t i = 0; i < names.size(); ++i) {
      csv.write(static_cast<int64_t>(i + 1), 0, {{names[i], 1.0 + i}});
      csv.flush();
    }
    csv.close();
  }
  std::ifstream in(dir / "metrics.csv");
  std::vector<std::string> header;
  REQUIRE(read_csv_record(in, header));
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  sorted.insert(sorted.begin(), {"step", "epoch"});
  CHECK(header == sorted);
  std::vector<std::string> row;
  for (int64_t step = 1; step <= 4; ++step) {
    REQUIRE(read_csv_record(in, row));
    REQUIRE(row.size() == header.size());
    CHECK(row[0] == std::to_string(step));
    auto col = std::find(header.begin(), header.end(), names[step - 1]);
    CHECK(row[static_cast<size_t>(col - header.begin())]
          == format_value(static_cast<double>(step)));
  }
  CHECK_FALSE(read_csv_record(in, row));
  std::stringstream bad{"\"open,1\n"};
  CHECK_THROWS_WITH(read_csv_record(bad, row), Catch::Contains("not closed"));
}

TEST_CASE("JSON: invalid UTF-8 and control characters are escaped",
          "[core][sinks]") {
  CHECK(json_quote("ok \xc3\xa9") == "\"ok \xc3\xa9\"");
  CHECK(json_quote("bad \xff\xc3") == "\"bad \\ufffd\\ufffd\"");
  CHECK(json_quote("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\""); // surrogate
  CHECK(json_quote(std::string{"a\0b\x7f", 4}) == "\"a\\u0000b\\u007f\"");
  for (const char* bad :
       {"{\"a\": \"\\uZZZZ\"}", "{\"a\": \"\\ud800\"}", "{\"a\": \"\xff\"}",
        "{\"a\": \"\x01\"}", "{\"a\": \"\\q\"}"})
    CHECK_THROWS_WITH(parse_json_object(bad), Catch::Contains("at byte"));
  auto f = parse_json_object("{\"a\": \"\\ud83d\\ude00 \\u00e9\"}");
  CHECK(f.at(0).value == "\xf0\x9f\x98\x80 \xc3\xa9");
}

TEST_CASE("a dropped sink is cut back to its last whole record",
          "[core][sinks]") {
  temp_dir dir;
  SECTION("jsonl") {
    jsonl_sink j{dir / "metrics.jsonl"};
    int64_t steps = 0;
    {
      file_size_limit limit{1500};
      steps = write_until_full(j);
    }
    auto text = read_text(dir / "metrics.jsonl");
    REQUIRE(!text.empty());
    CHECK(text.back() == '\n');
    std::stringstream in(text);
    std::string line;
    int64_t lines = 0;
    while (std::getline(in, line)) {
      CHECK_NOTHROW(parse_json_object(line));
      ++lines;
    }
    CHECK(lines == 2 * steps);
  }
  SECTION("csv") {
    csv_sink c{dir / "metrics.csv"};
    int64_t steps = 0;
    {
      file_size_limit limit{700};
      steps = write_until_full(c);
    }
    auto text = read_text(dir / "metrics.csv");
    CHECK(text.back() == '\n');
    CHECK(std::count(text.begin(), text.end(), '\n') == steps + 1);
  }
  SECTION("tensorboard") {
    int64_t steps = 0;
    std::string path;
    {
      tensorboard_sink tb{dir.path()};
      path = tb.path();
      file_size_limit limit{900};
      steps = write_until_full(tb);
    }
    auto events = test::read_tf_events(path); // throws on a torn record
    CHECK(static_cast<int64_t>(events.size()) == steps + 1);
  }
}
