#pragma once

// What a user supplies: a module factory and a step function.

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

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
/// (inputs, targets) in training or evaluation mode.
struct model_def {
  std::function<std::shared_ptr<torch::nn::Module>()> make;
  std::function<step_output(torch::nn::Module&, const at::Tensor&,
                            const at::Tensor&)>
    step;
};

/// Builds a model_def from a typed factory and a typed step function.
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

/// Cross-entropy loss and accuracy (`acc`) of logits against class targets.
step_output classification_outputs(const at::Tensor& logits,
                                   const at::Tensor& targets);

/// An MLP classifier with `sizes` (e.g. {784, 256, 10}).
model_def mlp_classifier(std::vector<int64_t> sizes);

/// Copies parameters and buffers of `from` into `to` (same architecture).
void copy_state(torch::nn::Module& from, torch::nn::Module& to);

/// The message of an exception thrown by model code: for LibTorch's errors
/// without the C++ backtrace LibTorch appends (it is noise in a summary).
std::string error_text(const std::exception& e);

/// FNV-1a over the bytes of every parameter and buffer, in registration
/// order: equal digests mean bit-identical replicas.
uint64_t state_digest(const torch::nn::Module& m);

} // namespace troupe::core
