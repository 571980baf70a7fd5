#pragma once

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

namespace troupe::core {

/// Inputs and targets, first dimension = samples. Immutable once built.
struct tensor_dataset {
  at::Tensor inputs;
  at::Tensor targets;

  int64_t size() const {
    return inputs.defined() ? inputs.size(0) : 0;
  }

  /// Samples [begin, end), sharing storage.
  tensor_dataset slice(int64_t begin, int64_t end) const;
};

/// What a fit trains, validates and tests on. `val` and `test` may be empty.
struct data_module {
  tensor_dataset train;
  tensor_dataset val;
  tensor_dataset test;
};

/// Fashion-MNIST from `dir` (the four IDX `.gz` files): the first
/// `train_size` training images train, the rest of the training file
/// validates, the t10k files test. Pixels scaled to [0, 1] (the only
/// preprocessing), flattened to 784 features. Throws data_error naming the
/// file for missing, truncated or corrupt files, mismatched counts and labels
/// out of range.
data_module load_fashion_mnist(const std::string& dir,
                               int64_t train_size = 55000);

/// Builds a dataset from an images file and a labels file. Checks image
/// size (`expected_side` squared), counts and label range; errors name the
/// file.
tensor_dataset make_image_dataset(const std::string& images_path,
                                  const std::string& labels_path,
                                  int64_t num_classes = 10,
                                  int64_t expected_side = 28);

/// Gaussian clusters: `classes` centres in `features` dimensions, a fixed
/// function of `seed`. Trains in seconds; for smoke tests.
data_module make_synthetic(int64_t train, int64_t val, int64_t test,
                           int64_t features = 32, int64_t classes = 4,
                           uint64_t seed = 7);

/// The order of the training samples in `epoch`: a permutation that is a
/// pure function of (seed, epoch), or 0..n-1 without shuffling.
at::Tensor epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

} // namespace troupe::core
