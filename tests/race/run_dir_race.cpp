// One run per directory under real concurrency: pairs of processes released
// at the same instant onto one run directory, exactly one of which may win
// each time; and processes creating version_N directories side by side,
// which must all get distinct ones. Processes, not threads: flock and mkdir
// are what two launchers meet on.
//
//   run_dir_race WORK_DIR [PAIRS]

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/util/errors.hpp"

namespace fs = std::filesystem;
using namespace troupe::core;

namespace {

int failures = 0;

void fail(const std::string& what) {
  std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  ++failures;
}

/// Forks `n` children that wait on a pipe, then run `body` (its return value
/// is the exit status); releases them together and returns their statuses.
template <class Body>
std::vector<int> race(int n, Body body) {
  int gate[2];
  if (pipe(gate) != 0)
    std::exit(3);
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    auto pid = fork();
    if (pid == 0) {
      close(gate[1]);
      char c;
      [[maybe_unused]] auto r = read(gate[0], &c, 1); // EOF: go
      std::fflush(stdout);
      _exit(body(i));
    }
    pids.push_back(pid);
  }
  close(gate[0]);
  close(gate[1]); // every child sees EOF at once
  std::vector<int> out;
  for (auto pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    out.push_back(WIFEXITED(status) ? WEXITSTATUS(status)
                                    : 128 + WTERMSIG(status));
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: run_dir_race WORK_DIR [PAIRS]\n");
    return 2;
  }
  fs::path work = argv[1];
  int pairs = argc > 2 ? std::atoi(argv[2]) : 150;
  fs::remove_all(work);
  fs::create_directories(work);
  // -- pairs on one directory -------------------------------------------------
  for (int p = 0; p < pairs; ++p) {
    auto dir = (work / ("pair_" + std::to_string(p))).string();
    auto status = race(2, [&](int) {
      try {
        auto lock = prepare_run_dir(dir, false);
        // The winner writes its run; the lock is held while it does.
        write_file_atomic(dir + "/config.json", std::to_string(getpid()));
        write_file_atomic(dir + "/metrics.csv", std::to_string(getpid()));
        usleep(1000);
        return 0;
      } catch (const output_error& e) {
        std::string what = e.what();
        bool expected = what.find("in use by another troupe run (pid ")
            != std::string::npos
          || what.find("holds another run") != std::string::npos;
        if (!expected)
          std::fprintf(stderr, "unexpected refusal: %s\n", what.c_str());
        return expected ? 2 : 4;
      }
    });
    int winners = 0;
    for (int s : status)
      winners += s == 0;
    if (winners != 1 || status[0] + status[1] != 2)
      fail("pair " + std::to_string(p) + ": exit statuses "
           + std::to_string(status[0]) + " and " + std::to_string(status[1]));
    std::ifstream a(dir + "/config.json"), b(dir + "/metrics.csv");
    std::string x, y;
    a >> x;
    b >> y;
    if (x.empty() || x != y)
      fail("pair " + std::to_string(p) + ": files of two runs mixed ('" + x
           + "', '" + y + "')");
  }
  // -- version_N under concurrency --------------------------------------------
  constexpr int procs = 6, each = 10;
  auto names = (work / "versions.txt").string();
  auto status = race(procs, [&](int) {
    std::string mine;
    for (int k = 0; k < each; ++k)
      mine += create_version_dir(work.string(), "runs") + "\n";
    FILE* f = std::fopen(names.c_str(), "a"); // O_APPEND: whole lines
    std::fputs(mine.c_str(), f);
    std::fclose(f);
    return 0;
  });
  std::ifstream in(names);
  std::set<std::string> seen;
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    ++count;
    if (!seen.insert(line).second)
      fail("version directory handed out twice: " + line);
  }
  if (count != procs * each)
    fail("expected " + std::to_string(procs * each)
         + " version directories, got " + std::to_string(count));
  for (int s : status)
    if (s != 0)
      fail("a version_N process exited " + std::to_string(s));
  std::printf("%d pairs: one winner each; %d version directories, all "
              "distinct; %d failures\n",
              pairs, count, failures);
  return failures == 0 ? 0 : 1;
}
