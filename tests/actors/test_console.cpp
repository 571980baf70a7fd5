// While a fit runs the logger owns the terminal: what user code writes to
// stdout and stderr reaches the console through the logger as whole lines,
// in order, and console.log keeps them; callbacks can answer with lines.

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include "boring_model.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/runtime/console_capture.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

/// "T<thread> L<line> " then a filler long enough that a torn line shows.
std::string text_of(int thread, int line) {
  auto head = "T" + std::to_string(thread) + " L" + std::to_string(line) + " ";
  return head + std::string(300, static_cast<char>('a' + thread));
}

/// At every step, four threads print 5 lines each at once, through printf,
/// fprintf(stderr), std::cout and write(2); and the callback answers with a
/// line of its own.
class chatty : public core::callback {
public:
  std::string name() const override {
    return "chatty";
  }
  callback_effects on_train_step_end(const train_step_end_event& e) override {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([t, this] {
        for (int i = 0; i < 5; ++i) {
          auto line = text_of(t, next_[t]++);
          switch (t) {
            case 0:
              std::printf("%s\n", line.c_str());
              break;
            case 1:
              std::fprintf(stderr, "%s\n", line.c_str());
              break;
            case 2:
              std::cout << line << std::endl;
              break;
            default: {
              line += '\n';
              [[maybe_unused]] auto n = ::write(1, line.data(), line.size());
            }
          }
        }
      });
    for (auto& th : threads)
      th.join();
    callback_effects out;
    out.lines.push_back("callback line at step " + std::to_string(e.step)
                        + "\nand a second one");
    return out;
  }

private:
  int next_[4] = {0, 0, 0, 0};
};

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

} // namespace

TEST_CASE("output of several threads reaches console.log through the logger: "
          "whole lines, in order, none lost",
          "[actors][console]") {
  struct stat out_before {};
  struct stat err_before {};
  REQUIRE(::fstat(1, &out_before) == 0);
  REQUIRE(::fstat(2, &err_before) == 0);
  temp_dir dir;
  core::trainer_options o;
  o.batch_size = 32;
  o.max_steps = 6;
  o.log_every_n_steps = 2;
  o.loggers = {"console", "csv"};
  o.run_dir = dir.path();
  trainer t{o};
  t.add_callback(std::make_shared<chatty>());
  auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                      small_data(1024));
  REQUIRE(report.status == fit_status::completed);
  // After the fit fds 1 and 2 are what they were, not the capture's pipes.
  struct stat out_after {};
  struct stat err_after {};
  REQUIRE(::fstat(1, &out_after) == 0);
  REQUIRE(::fstat(2, &err_after) == 0);
  CHECK(out_after.st_dev == out_before.st_dev);
  CHECK(out_after.st_ino == out_before.st_ino);
  CHECK(err_after.st_ino == err_before.st_ino);
  CHECK((!S_ISFIFO(out_after.st_mode) || S_ISFIFO(out_before.st_mode)));
  auto lines = lines_of(dir / "console.log");
  std::map<int, int> next; // per thread, the next line expected
  int callback_lines = 0;
  std::set<std::string> seen;
  for (const auto& l : lines) {
    if (l.rfind("callback line at step ", 0) == 0 || l == "and a second one") {
      ++callback_lines;
      continue;
    }
    if (l.empty() || l[0] != 'T')
      continue; // the fit's own lines
    INFO(l.substr(0, 40));
    auto t = l[1] - '0';
    REQUIRE(t >= 0);
    REQUIRE(t < 4);
    // Whole: the head and exactly the thread's filler.
    CHECK(l == text_of(t, next[t]));
    CHECK(seen.insert(l).second);
    ++next[t];
  }
  for (int t = 0; t < 4; ++t) {
    INFO("thread " << t);
    CHECK(next[t] == 6 * 5); // 6 steps x 5 lines, none lost
  }
  CHECK(callback_lines == 12);
  // The start lines and the test line are there too.
  bool plan = false;
  for (const auto& l : lines)
    plan = plan || l.rfind("troupe: 6 steps", 0) == 0;
  CHECK(plan);
}

TEST_CASE("a console capture restores fds 1 and 2 and keeps a last partial "
          "line",
          "[actors][console]") {
  std::deque<std::string> got;
  {
    core::console_capture c;
    REQUIRE(c.active());
    // A second one in the same process stays inert.
    core::console_capture nested;
    CHECK(!nested.active());
    CHECK(nested.terminal() == stdout);
    std::printf("one\ntwo\r\nno newline");
    std::fflush(stdout);
    std::fprintf(stderr, "err\n");
    c.stop();
    got = c.take();
    c.stop();                    // idempotent
    std::printf("after stop\n"); // to the terminal, not the capture
    std::fflush(stdout);
    CHECK(c.take().empty());
  }
  std::multiset<std::string> lines(got.begin(), got.end());
  CHECK(lines == std::multiset<std::string>{"one", "two", "no newline", "err"});
  // fd 1 is a terminal or file again, not a pipe of the capture.
  core::console_capture again;
  CHECK(again.active());
}
