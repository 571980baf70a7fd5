// Pipeline overhead: one troupe replica against a hand-written LibTorch loop
// over the same pre-loaded Fashion-MNIST tensors, same model, optimizer,
// batch and thread settings, logging off in both. After a warm-up pair,
// alternates A B A B and reports the median of the per-pair epoch-time
// ratios, and the minor page faults per step of each side.
//
//   ./build/bench/pipeline_overhead [--pairs=5] [--data-dir=DIR]
//   ./build/bench/pipeline_overhead --side=troupe --pairs=1 --seed=S
//     (troupe alone; bench/against_python.py drives it)

#include <atomic>
#include <filesystem>

#include <caf/mailbox_element.hpp>

#include "bench_util.hpp"

int main(int argc, char** argv) {
  bench::fashion_args args;
  int64_t seed0 = 0;
  std::string side = "both";
  troupe::core::arg_parser p("pipeline_overhead",
                             "troupe (1 replica) against a hand-written loop");
  p.add("seed", "seed of the first pair (pair i uses seed + i)", seed0);
  p.add("side", "both, or troupe alone", side);
  int64_t threads = 1;
  p.add("intra-op-threads", "LibTorch/OpenBLAS threads of both sides", threads,
        troupe::core::option_checks::in_range(1, 256));
  args.add_to(p);
  if (!p.parse(argc, argv)) {
    fmt::print("{}", p.help());
    return 0;
  }
  if (side != "both" && side != "troupe") {
    fmt::print(stderr, "error: invalid --side: expected both or troupe\n");
    return 2;
  }
  bench::start(static_cast<int>(threads));
  auto data = bench::fashion_train(args.data_dir);
  auto dir = (std::filesystem::temp_directory_path() / "troupe-bench").string();
  auto steps = static_cast<double>(data.train.size() / 64);
  std::vector<double> ratios;
  std::vector<double> hand_times;
  std::vector<double> troupe_times;
  std::vector<double> hand_faults;
  std::vector<double> marginal;
  std::vector<double> fixed_costs;
  std::vector<double> troupe_faults;
  // Pair 0 warms caches, the allocator's heap and the BLAS buffers up for
  // both sides; it is printed, not counted.
  for (int64_t i = side == "both" ? -1 : 0; i < args.pairs; ++i) {
    auto seed = static_cast<uint64_t>(seed0 + std::max<int64_t>(i, 0));
    auto f0 = bench::minor_faults();
    double a = side == "both" ? bench::hand_written_epoch(data, seed) : 0;
    auto f1 = bench::minor_faults();
    auto o = bench::troupe_options(dir, seed);
    o.intra_op_threads = threads;
    auto b = bench::troupe_fit(data, o).seconds;
    auto f2 = bench::minor_faults();
    // The fit's fixed cost: a fit of one step (actor system, replica,
    // config.json, summary.json), less one step of the hand-written loop.
    double fixed = 0;
    if (side == "both") {
      auto one = o;
      one.max_steps = 1;
      fixed = bench::troupe_fit(data, one).seconds - a / steps;
    }
    if (side == "troupe") {
      troupe_times.push_back(b);
      fmt::print("run {}: troupe {:.3f} s\n", i + 1, b);
      continue;
    }
    fmt::print("pair {}: hand-written {:.3f} s, troupe {:.3f} s, ratio {:.3f} "
               "(fixed cost {:.1f} ms); minor faults per step {:.1f} and "
               "{:.1f}{}\n",
               i + 1, a, b, b / a, fixed * 1e3,
               static_cast<double>(f1 - f0) / steps,
               static_cast<double>(f2 - f1) / steps, i < 0 ? " (warm-up)" : "");
    if (i < 0)
      continue;
    troupe_times.push_back(b);
    hand_times.push_back(a);
    ratios.push_back(b / a);
    marginal.push_back((b - fixed) / a);
    fixed_costs.push_back(fixed);
    hand_faults.push_back(static_cast<double>(f1 - f0) / steps);
    troupe_faults.push_back(static_cast<double>(f2 - f1) / steps);
  }
  bench::result("troupe_epoch_seconds", bench::median(troupe_times));
  if (side == "troupe")
    return 0;
  bench::result("overhead_ratio", bench::median(ratios));
  // Without the fit's fixed cost: what each further step costs.
  bench::result("fit_fixed_cost_ms", bench::median(fixed_costs) * 1e3, 1);
  bench::result("marginal_overhead_ratio", bench::median(marginal));
  bench::result(
    "overhead_us_per_step",
    (bench::median(troupe_times) - bench::median(hand_times)) / steps * 1e6, 1);
  bench::result("hand_written_us_per_step",
                bench::median(hand_times) / steps * 1e6, 1);
  // Whole process, per step: the troupe side's include the actor system's
  // start, the replica's construction and the run directory's files.
  bench::result("hand_written_minor_faults_per_step",
                bench::median(hand_faults), 1);
  bench::result("troupe_minor_faults_per_step", bench::median(troupe_faults),
                1);
  // Messages per optimizer step (one replica, no callbacks, no logging),
  // counted by the tap every actor's inbox goes through, in an extra run.
  std::atomic<int64_t> delivered{0};
  troupe::trainer t{bench::troupe_options(dir, 0), "bench"};
  t.tap([&](const std::string&, const caf::mailbox_element&) {
    ++delivered;
  });
  auto r = t.fit(troupe::core::mlp_classifier({784, 256, 10}), data);
  bench::result("messages_per_step",
                static_cast<double>(delivered.load())
                  / static_cast<double>(std::max<int64_t>(1, r.global_step)),
                2);
  return 0;
}
