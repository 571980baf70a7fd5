#pragma once

// The optimizer of each replica: built by a factory from the replica's
// parameters, so that any torch::optim::Optimizer (LibTorch's or the
// user's) can train. Every replica builds its own from bit-identical
// parameters and steps the same reduced gradient: a deterministic optimizer
// keeps the replicas bit-identical.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "troupe/core/config/options.hpp"

namespace torch::optim {
class Optimizer;
} // namespace torch::optim

namespace troupe::core {

/// Builds one replica's optimizer over `params` (the module's parameters in
/// registration order). Called once per replica, on that replica's stepper.
/// Every replica steps from the same reduced gradient tensor, read at once
/// by all of them: the optimizer must not write into `p.grad()` (LibTorch's
/// do not; one that clips or rescales in place must do so on a copy).
using optimizer_factory
  = std::function<std::unique_ptr<torch::optim::Optimizer>(
    const std::vector<at::Tensor>& params)>;

/// The optimizer the options name (sgd, adam, adamw, rmsprop), with the
/// optimizer's LibTorch defaults where an option is unset.
optimizer_factory make_optimizer(const trainer_options& opts);

/// The class the options name as LibTorch spells it (SGD, Adam, AdamW,
/// RMSprop), e.g. for lr_monitor's `lr-AdamW`.
std::string optimizer_class(const trainer_options& opts);

/// One line: the class and its effective settings.
std::string describe_optimizer(const trainer_options& opts);

/// The learning rate of each parameter group, in order.
std::vector<double> group_learning_rates(const torch::optim::Optimizer& o);

/// Sets the first group's learning rate to `lr` and every other group's to
/// `lr` times its ratio to the first group in `initial` (the rates the
/// factory set; all `lr` when the first was 0).
void set_learning_rate(torch::optim::Optimizer& o, double lr,
                       const std::vector<double>& initial);

} // namespace troupe::core
