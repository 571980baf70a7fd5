// Logging overhead: troupe logging every step to every sink at once
// (console, CSV, JSONL, TensorBoard) against no sinks at all, one replica,
// alternating A B, median of the epoch-time ratios; and the deepest the
// logger's queue got (bounded by credits: a full queue slows training and
// never drops a record). The console goes to a file, as under a scheduler.
//
//   ./build/bench/logging_overhead [--pairs=5]

#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

#include "bench_util.hpp"

namespace {

/// Points stdout at `path` while alive (the console sink writes there).
class redirect_stdout {
public:
  explicit redirect_stdout(const std::string& path) {
    std::fflush(stdout);
    saved_ = dup(1);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    close(fd);
  }
  ~redirect_stdout() {
    std::fflush(stdout);
    dup2(saved_, 1);
    close(saved_);
  }

private:
  int saved_;
};

} // namespace

int main(int argc, char** argv) {
  bench::fashion_args args;
  troupe::core::arg_parser p("logging_overhead", "every sink against none");
  args.add_to(p);
  if (!p.parse(argc, argv)) {
    fmt::print("{}", p.help());
    return 0;
  }
  bench::start();
  auto data = bench::fashion_train(args.data_dir);
  auto tmp = std::filesystem::temp_directory_path() / "troupe-bench-logging";
  std::filesystem::create_directories(tmp);
  std::vector<double> ratios;
  int64_t peak = 0;
  int64_t steps = 0;
  uint64_t metric_lines = 0;
  for (int64_t i = 0; i < args.pairs; ++i) {
    auto seed = static_cast<uint64_t>(i);
    auto quiet = bench::troupe_options((tmp / "none").string(), seed);
    quiet.log_every_n_steps = 1;
    auto loud = quiet;
    loud.run_dir = (tmp / "all").string();
    loud.loggers = {"console", "csv", "jsonl", "tensorboard"};
    auto a = bench::troupe_fit(data, quiet);
    bench::timed_fit b;
    {
      redirect_stdout to_file{(tmp / "console.txt").string()};
      b = bench::troupe_fit(data, loud);
    }
    peak = std::max(peak, b.report.peak_log_queue);
    steps = b.report.global_step;
    ratios.push_back(b.seconds / a.seconds);
    fmt::print("pair {}: no sinks {:.3f} s, every sink every step {:.3f} s, "
               "ratio {:.3f}, peak queue {}\n",
               i + 1, a.seconds, b.seconds, b.seconds / a.seconds,
               b.report.peak_log_queue);
  }
  // Every step logged: one CSV row per step, none lost.
  {
    std::FILE* f = std::fopen((tmp / "all/metrics.csv").c_str(), "r");
    for (int c; f != nullptr && (c = std::fgetc(f)) != EOF;)
      metric_lines += c == '\n' ? 1 : 0;
    if (f != nullptr)
      std::fclose(f);
  }
  fmt::print("{} steps, {} CSV lines (header included)\n", steps, metric_lines);
  bench::result("logging_overhead_ratio", bench::median(ratios));
  bench::result("peak_log_queue", static_cast<double>(peak), 0);
  bench::result("csv_rows_per_step",
                static_cast<double>(metric_lines - 1)
                  / static_cast<double>(steps));
  return 0;
}
