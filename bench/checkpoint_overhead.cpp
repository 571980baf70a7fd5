// Checkpoint cost: a Fashion-MNIST epoch with a checkpoint every 100 optimizer
// steps and at the end against the one at the end alone (the cost per step;
// target <= 1.02), one replica, alternating, median of the epoch-time ratios;
// the end's checkpoint against none (a fixed cost per fit); then the time a
// resume takes from the last periodic checkpoint to the end, and the
// checkpoint's size.
//
//   ./build/bench/checkpoint_overhead [--pairs=5] [--every=100] [--epochs=3]

#include <filesystem>

#include "bench_util.hpp"
#include "troupe/core/train/checkpoint.hpp"

int main(int argc, char** argv) {
  bench::fashion_args args;
  int64_t every = 100;
  int64_t epochs = 3;
  troupe::core::arg_parser p("checkpoint_overhead",
                             "checkpoints every N steps against none");
  args.add_to(p);
  p.add("every", "steps between checkpoints", every);
  p.add("epochs", "epochs per fit (long fits: a steadier ratio)", epochs);
  if (!p.parse(argc, argv)) {
    fmt::print("{}", p.help());
    return 0;
  }
  bench::start();
  auto data = bench::fashion_train(args.data_dir);
  auto tmp = std::filesystem::temp_directory_path() / "troupe-bench-ckpt";
  std::filesystem::create_directories(tmp);
  std::vector<double> ratios;
  int64_t steps = 0;
  std::string dir_b;
  std::vector<double> fixed;
  for (int64_t i = 0; i < args.pairs; ++i) {
    auto seed = static_cast<uint64_t>(i);
    // none: no checkpoint at all; end: only the one at the end (a fixed
    // cost per fit); with: every `every` steps and at the end.
    auto none = bench::troupe_options((tmp / "none").string(), seed);
    none.max_epochs = epochs;
    auto end = none;
    end.run_dir = (tmp / "end").string();
    end.checkpoint_dir = "";
    auto with = end;
    with.run_dir = (tmp / "with").string();
    with.checkpoint_every_n_steps = every;
    with.keep_checkpoints = 0;
    auto a = bench::troupe_fit(data, end);
    auto b = bench::troupe_fit(data, with);
    auto c = bench::troupe_fit(data, none);
    steps = b.report.global_step;
    dir_b = with.run_dir;
    ratios.push_back(b.seconds / a.seconds);
    fixed.push_back(a.seconds - c.seconds);
    fmt::print("round {}: none {:.3f} s, one at the end {:.3f} s, every {} "
               "steps {:.3f} s, ratio every/end {:.3f}\n",
               i + 1, c.seconds, a.seconds, every, b.seconds,
               b.seconds / a.seconds);
  }
  auto files = troupe::core::list_checkpoints(dir_b + "/checkpoints");
  auto size = files.empty() ? 0 : std::filesystem::file_size(files.back());
  fmt::print("{} steps, {} checkpoints of {:.2f} MB each\n", steps,
             files.size(), static_cast<double>(size) / 1e6);
  // The cost per step: periodic checkpoints against the end's alone.
  bench::result("checkpoint_overhead_ratio", bench::median(ratios));
  bench::result("end_checkpoint_seconds", bench::median(fixed));
  // Resume from the last periodic checkpoint: read, check, cut the sinks,
  // run the remaining steps.
  auto resume_step = (steps - 1) / every * every;
  auto o = bench::troupe_options(dir_b, 0);
  o.overwrite = false;
  o.checkpoint_dir = "";
  o.checkpoint_every_n_steps = every;
  o.keep_checkpoints = 0;
  o.seed = static_cast<uint64_t>(args.pairs - 1);
  o.max_epochs = epochs;
  o.resume = dir_b + "/checkpoints/"
    + troupe::core::checkpoint_file_name(resume_step);
  auto r = bench::troupe_fit(data, o);
  fmt::print("resume after step {} and train {} steps: {:.3f} s\n", resume_step,
             steps - resume_step, r.seconds);
  bench::result("resume_seconds", r.seconds);
  return 0;
}
