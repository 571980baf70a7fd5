// Memory growth: peak RSS of a 5-epoch Fashion-MNIST run against a 1-epoch
// run of the same launcher (separate processes, measured by the kernel),
// alternating A B, median of the ratios. Nothing may grow with steps.
//
//   ./build/bench/memory_growth [--pairs=5] [--launcher=PATH]

#include <filesystem>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.hpp"
#include "troupe/core/config/cli.hpp"

namespace {

/// Runs `argv` with stdout and stderr to /dev/null; returns its peak RSS in
/// KiB (throws when it fails).
long peak_rss_kib(const std::vector<std::string>& args) {
  std::fflush(stdout); // or the child would print our buffer again
  pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (freopen("/dev/null", "w", stdout) == nullptr)
      _exit(127);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status)
      || WEXITSTATUS(status) != 0)
    throw std::runtime_error(args[0] + " failed (exit "
                             + std::to_string(WEXITSTATUS(status)) + ")");
  return usage.ru_maxrss;
}

} // namespace

int main(int argc, char** argv) {
  int64_t pairs = 5;
  auto here = std::filesystem::canonical("/proc/self/exe").parent_path();
  std::string launcher
    = (here.parent_path() / "examples/fashion_mnist").string();
  troupe::core::arg_parser p("memory_growth", "peak RSS, 5 epochs against 1");
  p.add("pairs", "A/B pairs to run", pairs);
  p.add("launcher", "the fashion_mnist launcher", launcher);
  if (!p.parse(argc, argv)) {
    fmt::print("{}", p.help());
    return 0;
  }
  auto dir = std::filesystem::temp_directory_path() / "troupe-bench-memory";
  auto run = [&](int epochs) {
    return peak_rss_kib(
      {launcher, "--max-epochs=" + std::to_string(epochs),
       "--loggers=csv,jsonl", "--overwrite=true",
       "--run-dir=" + (dir / std::to_string(epochs)).string()});
  };
  std::vector<double> ratios;
  std::vector<double> one_mib;
  std::vector<double> five_mib;
  for (int64_t i = 0; i < pairs; ++i) {
    auto a = static_cast<double>(run(1)) / 1024;
    auto b = static_cast<double>(run(5)) / 1024;
    one_mib.push_back(a);
    five_mib.push_back(b);
    ratios.push_back(b / a);
    fmt::print(
      "pair {}: 1 epoch {:.1f} MiB, 5 epochs {:.1f} MiB, ratio {:.3f}\n", i + 1,
      a, b, b / a);
  }
  bench::result("peak_rss_1_epoch_mib", bench::median(one_mib), 1);
  bench::result("peak_rss_5_epochs_mib", bench::median(five_mib), 1);
  bench::result("memory_growth_ratio", bench::median(ratios));
  return 0;
}
