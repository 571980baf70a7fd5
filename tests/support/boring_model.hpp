#pragma once

// A tiny model and data set for the actor tests (after Lightning's
// BoringModel), with a recorder of every training micro-batch's loss.

#include <memory>
#include <mutex>
#include <vector>

#include <torch/torch.h>

#include "troupe/core/data/datasets.hpp"
#include "troupe/core/train/model.hpp"

namespace troupe::test {

/// Per replica (in creation order), the (loss, samples) of every training
/// micro-batch in the order the replica ran them.
struct micro_log {
  std::mutex mtx;
  std::vector<std::shared_ptr<std::vector<std::pair<double, int64_t>>>>
    replicas;
  std::vector<std::shared_ptr<core::mlp_impl>> modules;
};

struct recording_mlp_impl : core::mlp_impl {
  recording_mlp_impl(
    const std::vector<int64_t>& sizes,
    std::shared_ptr<std::vector<std::pair<double, int64_t>>> log)
      : core::mlp_impl(sizes), log(std::move(log)) {}

  std::shared_ptr<std::vector<std::pair<double, int64_t>>> log;
};

/// An MLP classifier that records its training micro-batches into `log`.
/// `poison_at` > 0 makes replica `poison_rank`'s `poison_at`-th training
/// micro-batch return a NaN loss.
inline core::model_def recording_model(std::shared_ptr<micro_log> log,
                                       std::vector<int64_t> sizes = {8, 16, 3},
                                       int64_t poison_at = 0,
                                       size_t poison_rank = 0) {
  core::model_def def;
  def.make = [log, sizes]() -> std::shared_ptr<torch::nn::Module> {
    auto entries = std::make_shared<std::vector<std::pair<double, int64_t>>>();
    auto m = std::make_shared<recording_mlp_impl>(sizes, entries);
    std::lock_guard<std::mutex> guard{log->mtx};
    log->replicas.push_back(entries);
    log->modules.push_back(m);
    return m;
  };
  def.step = [log, poison_at, poison_rank](torch::nn::Module& base,
                                           const at::Tensor& x,
                                           const at::Tensor& y) {
    auto& m = static_cast<recording_mlp_impl&>(base);
    auto out = core::classification_outputs(m.forward(x), y);
    if (m.is_training()) {
      m.log->emplace_back(out.loss.item<double>(), x.size(0));
      if (poison_at > 0 && static_cast<int64_t>(m.log->size()) == poison_at) {
        size_t rank = 0;
        {
          std::lock_guard<std::mutex> guard{log->mtx};
          while (rank < log->replicas.size() && log->replicas[rank] != m.log)
            ++rank;
        }
        if (rank == poison_rank)
          out.loss = out.loss * std::numeric_limits<float>::quiet_NaN();
      }
    }
    return out;
  };
  return def;
}

/// Synthetic data shaped for recording_model's default sizes.
inline core::data_module small_data(int64_t train = 2048, int64_t val = 256,
                                    int64_t test = 256) {
  return core::make_synthetic(train, val, test, /*features=*/8, /*classes=*/3,
                              /*seed=*/11);
}

} // namespace troupe::test
