// Pipeline overhead: one troupe replica against a hand-written LibTorch loop
// over the same pre-loaded Fashion-MNIST tensors, same model, optimizer,
// batch and thread settings, logging off in both. Alternates A B A B and
// reports the median of the per-pair epoch-time ratios.
//
//   ./build/bench/pipeline_overhead [--pairs=5] [--data-dir=DIR]

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <torch/torch.h>

#include "troupe/actors/trainer.hpp"
#include "troupe/core/blas.hpp"
#include "troupe/core/cli.hpp"
#include "troupe/core/datasets.hpp"
#include "troupe/core/model.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// The loop a researcher writes by hand: shuffled batches of 64, forward,
/// backward, step, with the same per-batch work troupe does (index_select
/// of the shuffled batch, loss and accuracy read back).
double hand_written_epoch(const troupe::core::data_module& data, uint64_t seed) {
  torch::manual_seed(seed);
  auto model = std::make_shared<troupe::core::mlp_impl>(
    std::vector<int64_t>{784, 256, 10});
  torch::optim::SGD opt(model->parameters(),
                        torch::optim::SGDOptions(0.02).momentum(0.9));
  auto n = data.train.size();
  auto order = troupe::core::epoch_order(n, seed, 0, true);
  auto t0 = clock_type::now();
  double loss_sum = 0;
  for (int64_t first = 0; first + 64 <= n; first += 64) {
    auto idx = order.slice(0, first, first + 64);
    auto x = data.train.inputs.index_select(0, idx);
    auto y = data.train.targets.index_select(0, idx);
    opt.zero_grad();
    auto out = troupe::core::classification_outputs(model->forward(x), y);
    out.loss.backward();
    opt.step();
    loss_sum += out.loss.item<double>();
  }
  auto dt = seconds_since(t0);
  if (!std::isfinite(loss_sum))
    throw std::runtime_error("hand-written loop diverged");
  return dt;
}

double troupe_epoch(const troupe::core::data_module& data, uint64_t seed,
                    const std::string& dir) {
  troupe::core::trainer_options o;
  o.max_epochs = 1;
  o.loggers = {};
  o.seed = seed;
  o.run_dir = dir;
  o.overwrite = true;
  troupe::trainer t{o, "bench"};
  auto t0 = clock_type::now();
  auto report = t.fit(troupe::core::mlp_classifier({784, 256, 10}), data);
  auto dt = seconds_since(t0);
  if (report.status != "completed")
    throw std::runtime_error("troupe run failed: " + report.error);
  return dt;
}

} // namespace

int main(int argc, char** argv) {
  int64_t pairs = 5;
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  troupe::core::arg_parser p("pipeline_overhead",
                             "troupe (1 replica) against a hand-written loop");
  p.add("pairs", "A/B pairs to run", pairs);
  p.add("data-dir", "Fashion-MNIST directory", data_dir);
  if (!p.parse(argc, argv)) {
    fmt::print("{}", p.help());
    return 0;
  }
  troupe::core::set_compute_threads(1);
  fmt::print("BLAS: {}\n", troupe::core::blas_vendor());
  auto full = troupe::core::load_fashion_mnist(data_dir);
  // No validation or test set: both sides time the training epoch only.
  troupe::core::data_module data{full.train, {}, {}};
  auto dir = (std::filesystem::temp_directory_path() / "troupe-bench").string();
  auto steps = data.train.size() / 64;
  std::vector<double> ratios;
  std::vector<double> hand_times;
  std::vector<double> troupe_times;
  for (int64_t i = 0; i < pairs; ++i) {
    auto a = hand_written_epoch(data, static_cast<uint64_t>(i));
    auto b = troupe_epoch(data, static_cast<uint64_t>(i), dir);
    hand_times.push_back(a);
    troupe_times.push_back(b);
    ratios.push_back(b / a);
    fmt::print("pair {}: hand-written {:.3f} s, troupe {:.3f} s, ratio {:.3f}\n",
               i + 1, a, b, b / a);
  }
  auto median = [](std::vector<double> xs) {
    std::sort(xs.begin(), xs.end());
    return xs[xs.size() / 2];
  };
  auto ratio = median(ratios);
  auto overhead_us = (median(troupe_times) - median(hand_times)) / steps * 1e6;
  fmt::print("RESULT overhead_ratio {:.3f}\n", ratio);
  fmt::print("RESULT overhead_us_per_step {:.1f}\n", overhead_us);
  fmt::print("RESULT hand_written_us_per_step {:.1f}\n",
             median(hand_times) / steps * 1e6);
  return 0;
}
