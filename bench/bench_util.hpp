#pragma once

// What every benchmark program here shares: timing, medians, RESULT lines,
// the Fashion-MNIST training set, and the loop a researcher writes by hand.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/resource.h>

#include <fmt/format.h>
#include <torch/torch.h>

#include "troupe/actors/trainer.hpp"
#include "troupe/core/config/cli.hpp"
#include "troupe/core/config/option_table.hpp"
#include "troupe/core/data/augment.hpp"
#include "troupe/core/data/datasets.hpp"
#include "troupe/core/runtime/blas.hpp"
#include "troupe/core/runtime/memory.hpp"
#include "troupe/core/train/model.hpp"

namespace bench {

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

inline double median(std::vector<double> xs) {
  if (xs.empty())
    return std::nan("");
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
}

/// The options every Fashion-MNIST comparison takes.
struct fashion_args {
  int64_t pairs = 5;
  std::string data_dir = "/usr/share/datasets/fashion-mnist";

  void add_to(troupe::core::arg_parser& p) {
    p.add("pairs", "A/B pairs to run", pairs);
    p.add("data-dir", "Fashion-MNIST directory", data_dir);
  }
};

/// One intra-op thread (as in every comparison here unless told), set before
/// any actor system starts, and freed memory kept in the process from the start
/// (what a troupe fit does by default: both sides of a comparison run with it);
/// prints which BLAS and which kernel run the matrix products.
inline void start(int threads = 1) {
  troupe::core::set_compute_threads(threads);
  troupe::core::retain_freed_memory();
  fmt::print("BLAS: {}, {} thread{}\n", troupe::core::blas_description(),
             threads, threads == 1 ? "" : "s");
}

/// Minor page faults of the whole process so far.
inline int64_t minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_minflt);
}

inline void result(const std::string& name, double value, int decimals = 3) {
  fmt::print("RESULT {} {:.{}f}\n", name, value, decimals);
  std::fflush(stdout);
}

/// The training set only: both sides of a comparison time training alone.
inline troupe::core::data_module fashion_train(const std::string& dir) {
  auto full = troupe::core::load_fashion_mnist(dir);
  return troupe::core::data_module{full.train, {}, {}};
}

/// The loop a researcher writes by hand, on one thread: shuffled batches,
/// augmentation (if any) inline, forward, backward, SGD with momentum, loss
/// read back each step. Returns seconds for `max_steps` steps (0: an epoch).
inline double hand_written_epoch(const troupe::core::data_module& data,
                                 uint64_t seed, int64_t batch = 64,
                                 const troupe::core::augment_spec& augment = {},
                                 int64_t max_steps = 0) {
  torch::manual_seed(seed);
  auto model = std::make_shared<troupe::core::mlp_impl>(
    std::vector<int64_t>{784, 256, 10});
  torch::optim::SGD opt(model->parameters(),
                        torch::optim::SGDOptions(0.02).momentum(0.9));
  auto n = data.train.size();
  auto order = troupe::core::epoch_order(n, seed, 0, true);
  auto t0 = clock_type::now();
  double loss_sum = 0;
  int64_t step = 0;
  for (int64_t first = 0; first + batch <= n; first += batch) {
    if (max_steps > 0 && step == max_steps)
      break;
    ++step;
    auto idx = order.slice(0, first, first + batch);
    auto x = data.train.inputs.index_select(0, idx);
    auto y = data.train.targets.index_select(0, idx);
    if (augment.enabled())
      x = troupe::core::augment_batch(
        x, augment, troupe::core::augment_key{seed, 0, step, 0, 0});
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

/// Options of a troupe run comparable with the hand-written loop: one epoch
/// of Fashion-MNIST, MLP 784-256-10, batch 64 per replica, SGD with
/// momentum, no sinks.
inline troupe::core::trainer_options troupe_options(const std::string& dir,
                                                    uint64_t seed) {
  troupe::core::trainer_options o;
  o.max_epochs = 1;
  o.loggers = {};
  o.seed = seed;
  o.run_dir = dir;
  o.overwrite = true;
  o.intra_op_threads = 1;
  // No checkpoint at the end either (bench/checkpoint_overhead measures it).
  o.checkpoint_dir = "none";
  return o;
}

struct timed_fit {
  double seconds = 0;
  troupe::fit_report report;
};

/// One troupe fit, timed from the trainer's start (actor system, model and
/// all) to its answer.
inline timed_fit troupe_fit(const troupe::core::data_module& data,
                            const troupe::core::trainer_options& o) {
  troupe::trainer t{o, "bench"};
  auto t0 = clock_type::now();
  timed_fit out;
  out.report = t.fit(troupe::core::mlp_classifier({784, 256, 10}), data);
  out.seconds = seconds_since(t0);
  if (out.report.status != troupe::fit_status::completed)
    throw std::runtime_error("troupe run failed: " + out.report.error);
  return out;
}

} // namespace bench
