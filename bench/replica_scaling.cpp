// Data-parallel throughput: troupe with 2 replicas against 1 on this
// machine, in samples per second (alternating A B, median of the ratios),
// beside the ceiling of two bare threads that each train their own model
// with no communication at all. Also checks that two 2-replica runs end
// bit-identical.
//
//   ./build/bench/replica_scaling [--pairs=5] [--data-dir=DIR]

#include <filesystem>
#include <thread>

#include "bench_util.hpp"

int main(int argc, char** argv) {
  bench::fashion_args args;
  troupe::core::arg_parser p("replica_scaling", "2 replicas against 1");
  args.add_to(p);
  if (!p.parse(argc, argv)) {
    fmt::print("{}", p.help());
    return 0;
  }
  bench::start();
  fmt::print("{} hardware threads\n", std::thread::hardware_concurrency());
  auto data = bench::fashion_train(args.data_dir);
  auto dir = (std::filesystem::temp_directory_path() / "troupe-bench-scaling")
               .string();
  std::vector<double> troupe_ratios;
  std::vector<double> bare_ratios;
  std::vector<troupe::metric_values> finals;
  // Pair 0 warms caches and the allocator's heap up; printed, not counted.
  for (int64_t i = -1; i < args.pairs; ++i) {
    auto seed = static_cast<uint64_t>(std::max<int64_t>(i, 0));
    auto o1 = bench::troupe_options(dir, seed);
    auto one = bench::troupe_fit(data, o1);
    auto o2 = o1;
    o2.replicas = 2;
    auto two = bench::troupe_fit(data, o2);
    if (i >= 0 && i < 2) {
      // Same seed twice: must end in the same metrics, bit for bit.
      finals.push_back(two.report.last);
    }
    auto sps1 = static_cast<double>(one.report.samples) / one.seconds;
    auto sps2 = static_cast<double>(two.report.samples) / two.seconds;
    if (i >= 0)
      troupe_ratios.push_back(sps2 / sps1);
    // The ceiling: the same per-thread work with no pipeline, one thread
    // against two independent threads.
    const int64_t steps = 400;
    auto t1 = bench::hand_written_epoch(data, seed, 64, {}, steps);
    double t2 = 0;
    {
      auto t0 = bench::clock_type::now();
      std::thread other([&] {
        troupe::core::set_compute_threads(1);
        bench::hand_written_epoch(data, seed + 100, 64, {}, steps);
      });
      bench::hand_written_epoch(data, seed, 64, {}, steps);
      other.join();
      t2 = bench::seconds_since(t0);
    }
    if (i >= 0)
      bare_ratios.push_back(2 * t1 / t2);
    fmt::print("pair {}: troupe 1 replica {:.0f} samples/s, 2 replicas {:.0f} "
               "samples/s (x{:.3f}); bare threads x{:.3f}{}\n",
               i + 1, sps1, sps2, sps2 / sps1, 2 * t1 / t2,
               i < 0 ? " (warm-up)" : "");
  }
  // Same seed: rerun pair 1's 2-replica fit and compare.
  auto o2 = bench::troupe_options(dir, 0);
  o2.replicas = 2;
  auto again = bench::troupe_fit(data, o2);
  bool identical = !finals.empty() && again.report.last == finals.front()
    && !finals.front().empty();
  fmt::print("2-replica runs with the same seed end bit-identical: {}\n",
             identical ? "yes" : "NO");
  bench::result("replica_scaling_ratio", bench::median(troupe_ratios));
  bench::result("bare_threads_ratio", bench::median(bare_ratios));
  bench::result("scaling_efficiency_vs_bare",
                (bench::median(troupe_ratios) - 1)
                  / std::max(1e-9, bench::median(bare_ratios) - 1));
  bench::result("replicas2_bit_identical", identical ? 1 : 0, 0);
  return identical ? 0 : 1;
}
