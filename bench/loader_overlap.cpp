// Overlapped loading: with a real per-batch loader cost (per-sample random
// rotations, bilinear, as a data set's transform does them; about the cost
// of a step here), troupe's loader
// prepares the next batches while the stepper computes; the hand-written
// loop does the same work in sequence. Alternating A B, median of the
// epoch-time ratios; also reports what the augmentation and the step cost
// per batch on their own.
//
//   ./build/bench/loader_overlap [--pairs=5] [--augment=rotate:15]

#include <filesystem>

#include "bench_util.hpp"

int main(int argc, char** argv) {
  bench::fashion_args args;
  std::string augment = "rotate:15";
  troupe::core::arg_parser p("loader_overlap",
                             "loading overlapped with stepping");
  p.add("augment", "the loader's per-batch work", augment);
  args.add_to(p);
  if (!p.parse(argc, argv)) {
    fmt::print("{}", p.help());
    return 0;
  }
  bench::start();
  auto data = bench::fashion_train(args.data_dir);
  auto spec = troupe::core::parse_augment(augment);
  auto dir = (std::filesystem::temp_directory_path() / "troupe-bench-overlap")
               .string();
  // The two costs on their own, per batch of 64.
  const int64_t probe = 200;
  auto step_only = bench::hand_written_epoch(data, 0, 64, {}, probe) / probe;
  auto both = bench::hand_written_epoch(data, 0, 64, spec, probe) / probe;
  auto load_only = both - step_only;
  fmt::print(
    "per batch: step {:.0f} us, augmentation {:.0f} us (ratio {:.2f})\n",
    step_only * 1e6, load_only * 1e6, load_only / step_only);
  std::vector<double> ratios;
  for (int64_t i = 0; i < args.pairs; ++i) {
    auto seed = static_cast<uint64_t>(i);
    auto a = bench::hand_written_epoch(data, seed, 64, spec);
    auto o = bench::troupe_options(dir, seed);
    o.augment = augment;
    auto b = bench::troupe_fit(data, o).seconds;
    ratios.push_back(b / a);
    fmt::print("pair {}: sequential hand-written {:.3f} s, troupe {:.3f} s, "
               "ratio {:.3f}\n",
               i + 1, a, b, b / a);
  }
  bench::result("loader_cost_over_step", load_only / step_only);
  bench::result("overlap_ratio", bench::median(ratios));
  return 0;
}
