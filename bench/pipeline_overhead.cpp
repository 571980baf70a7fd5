// Pipeline overhead: one troupe replica against a hand-written LibTorch loop
// over the same pre-loaded Fashion-MNIST tensors, same model, optimizer,
// batch and thread settings, logging off in both. Alternates A B A B and
// reports the median of the per-pair epoch-time ratios.
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
  args.add_to(p);
  if (!p.parse(argc, argv)) {
    fmt::print("{}", p.help());
    return 0;
  }
  if (side != "both" && side != "troupe") {
    fmt::print(stderr, "error: invalid --side: expected both or troupe\n");
    return 2;
  }
  bench::start();
  auto data = bench::fashion_train(args.data_dir);
  auto dir = (std::filesystem::temp_directory_path() / "troupe-bench").string();
  auto steps = static_cast<double>(data.train.size() / 64);
  std::vector<double> ratios;
  std::vector<double> hand_times;
  std::vector<double> troupe_times;
  for (int64_t i = 0; i < args.pairs; ++i) {
    auto seed = static_cast<uint64_t>(seed0 + i);
    double a = side == "both" ? bench::hand_written_epoch(data, seed) : 0;
    auto b = bench::troupe_fit(data, bench::troupe_options(dir, seed)).seconds;
    troupe_times.push_back(b);
    if (side == "troupe") {
      fmt::print("run {}: troupe {:.3f} s\n", i + 1, b);
      continue;
    }
    hand_times.push_back(a);
    ratios.push_back(b / a);
    fmt::print(
      "pair {}: hand-written {:.3f} s, troupe {:.3f} s, ratio {:.3f}\n", i + 1,
      a, b, b / a);
  }
  bench::result("troupe_epoch_seconds", bench::median(troupe_times));
  if (side == "troupe")
    return 0;
  bench::result("overhead_ratio", bench::median(ratios));
  bench::result(
    "overhead_us_per_step",
    (bench::median(troupe_times) - bench::median(hand_times)) / steps * 1e6, 1);
  bench::result("hand_written_us_per_step",
                bench::median(hand_times) / steps * 1e6, 1);
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
