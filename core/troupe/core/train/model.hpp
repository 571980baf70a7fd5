#pragma once

// What a user supplies: a module factory and a step function.

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "troupe/core/train/layers.hpp"

#include "troupe/messages/metrics.hpp"

namespace troupe::core {

/// What one forward pass on a micro-batch returns: the loss to back-propagate
/// (a scalar, mean over the micro-batch) and further metrics, each a mean over
/// the micro-batch's samples. troupe weights both by the sample count.
struct step_output {
  at::Tensor loss;
  metric_values metrics;
};

/// A model: `make` builds one replica (called once per replica, replicas are
/// then made bit-identical to replica 0), `step` runs a forward pass on
/// (inputs, targets) in training or evaluation mode, `forward` (optional,
/// for trainer::predict) gives the outputs of inputs.
struct model_def {
  std::function<std::shared_ptr<torch::nn::Module>()> make;
  std::function<step_output(torch::nn::Module&, const at::Tensor&,
                            const at::Tensor&)>
    step;
  std::function<at::Tensor(torch::nn::Module&, const at::Tensor&)> forward;
};

namespace detail {

template <class Impl, class = void>
struct has_forward : std::false_type {};

template <class Impl>
struct has_forward<Impl,
                   std::void_t<decltype(std::declval<Impl&>().forward(
                     std::declval<at::Tensor>()))>> : std::true_type {};

} // namespace detail

/// Builds a model_def from a typed factory and a typed step function;
/// `forward` is Impl::forward(x) when Impl has one.
template <class Impl, class Make, class Step>
model_def make_model(Make make, Step step) {
  model_def result;
  result.make = [make]() -> std::shared_ptr<torch::nn::Module> {
    return make();
  };
  result.step = [step](torch::nn::Module& m, const at::Tensor& x,
                       const at::Tensor& y) {
    return step(static_cast<Impl&>(m), x, y);
  };
  if constexpr (detail::has_forward<Impl>::value)
    result.forward = [](torch::nn::Module& m, const at::Tensor& x) {
      return at::Tensor{static_cast<Impl&>(m).forward(x)};
    };
  return result;
}

/// A multi-layer perceptron with ReLU between layers; layers are registered
/// as fc1, fc2, ... so saved parameters read `fc1.weight`, `fc1.bias`, ...
struct mlp_impl : torch::nn::Module {
  explicit mlp_impl(const std::vector<int64_t>& sizes);

  at::Tensor forward(at::Tensor x);

  std::vector<torch::nn::Linear> layers;
};

TORCH_MODULE_IMPL(mlp, mlp_impl);

/// A small convolutional classifier for 1 x side x side images (inputs
/// [N, side * side] or [N, 1, side, side]): two blocks of 3x3 convolution
/// (BatchNorm when `batch_norm`), ReLU and 2x2 max pooling, then a hidden
/// fully connected layer with ReLU and troupe dropout, and the output layer.
/// Registered as conv1, conv2 (bn1, bn2), fc1, fc2.
struct cnn_spec {
  int64_t side = 28;
  int64_t channels1 = 32;
  int64_t channels2 = 64;
  int64_t hidden = 128;
  int64_t classes = 10;
  double dropout = 0.25; ///< 0: none
  bool batch_norm = false;
};

struct cnn_impl : torch::nn::Module {
  explicit cnn_impl(const cnn_spec& spec);

  at::Tensor forward(at::Tensor x);

  cnn_spec spec;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::Conv2d conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::BatchNorm2d bn2{nullptr};
  torch::nn::Linear fc1{nullptr};
  torch::nn::Linear fc2{nullptr};
  core::dropout drop{nullptr};
};

TORCH_MODULE_IMPL(cnn, cnn_impl);

/// Cross-entropy loss and accuracy (`acc`) of logits against class targets.
step_output classification_outputs(const at::Tensor& logits,
                                   const at::Tensor& targets);

/// An MLP classifier with `sizes` (e.g. {784, 256, 10}).
model_def mlp_classifier(std::vector<int64_t> sizes);

/// A CNN classifier (cross-entropy, `acc`).
model_def cnn_classifier(cnn_spec spec = {});

/// Copies parameters and buffers of `from` into `to` (same architecture).
void copy_state(torch::nn::Module& from, torch::nn::Module& to);

/// The message of an exception thrown by model code: for LibTorch's errors
/// without the C++ backtrace LibTorch appends (it is noise in a summary).
std::string error_text(const std::exception& e);

/// FNV-1a over the bytes of every parameter and buffer, in registration
/// order: equal digests mean bit-identical replicas.
uint64_t state_digest(const torch::nn::Module& m);

/// The first parameter or buffer in which `a` and `b` differ bit for bit,
/// as "parameter 'fc1.weight'" or "buffer 'bn1.running_mean'"; "" when
/// they are identical.
std::string first_difference(const torch::nn::Module& a,
                             const torch::nn::Module& b);

} // namespace troupe::core
