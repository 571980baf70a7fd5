#include "troupe/core/train/optimizer.hpp"

#include <fmt/format.h>
#include <torch/optim.h>

#include "troupe/core/util/errors.hpp"

namespace troupe::core {

optimizer_factory make_optimizer(const trainer_options& given) {
  auto o = with_optimizer_defaults(given);
  const auto name = o.optimizer;
  auto lr = *o.lr;
  auto wd = *o.weight_decay;
  if (name == "sgd") {
    auto momentum = *o.momentum;
    auto nesterov = o.nesterov;
    return [=](const std::vector<at::Tensor>& params) {
      return std::make_unique<torch::optim::SGD>(params,
                                                 torch::optim::SGDOptions(lr)
                                                   .momentum(momentum)
                                                   .nesterov(nesterov)
                                                   .weight_decay(wd));
    };
  }
  if (name == "adam" || name == "adamw") {
    auto betas = std::make_tuple((*o.betas)[0], (*o.betas)[1]);
    auto eps = *o.eps;
    if (name == "adam")
      return [=](const std::vector<at::Tensor>& params) {
        return std::make_unique<torch::optim::Adam>(
          params,
          torch::optim::AdamOptions(lr).betas(betas).eps(eps).weight_decay(wd));
      };
    return [=](const std::vector<at::Tensor>& params) {
      return std::make_unique<torch::optim::AdamW>(
        params,
        torch::optim::AdamWOptions(lr).betas(betas).eps(eps).weight_decay(wd));
    };
  }
  if (name == "rmsprop") {
    auto momentum = *o.momentum;
    auto eps = *o.eps;
    return [=](const std::vector<at::Tensor>& params) {
      return std::make_unique<torch::optim::RMSprop>(
        params,
        torch::optim::RMSpropOptions(lr)
          .momentum(momentum)
          .eps(eps)
          .weight_decay(wd));
    };
  }
  throw config_error("optimizer", "unknown optimizer '" + name + "'");
}

std::string optimizer_class(const trainer_options& o) {
  if (o.optimizer == "sgd")
    return "SGD";
  if (o.optimizer == "adam")
    return "Adam";
  if (o.optimizer == "adamw")
    return "AdamW";
  if (o.optimizer == "rmsprop")
    return "RMSprop";
  return o.optimizer;
}

std::string describe_optimizer(const trainer_options& given) {
  auto o = with_optimizer_defaults(given);
  auto out = fmt::format("{} (lr {}", optimizer_class(o), o.lr.value_or(0));
  if (o.momentum)
    out += fmt::format(", momentum {}", *o.momentum);
  if (o.nesterov)
    out += ", nesterov";
  if (o.betas)
    out += fmt::format(", betas {},{}", (*o.betas)[0], (*o.betas)[1]);
  if (o.eps)
    out += fmt::format(", eps {}", *o.eps);
  if (o.weight_decay)
    out += fmt::format(", weight decay {}", *o.weight_decay);
  return out + ")";
}

std::vector<double> group_learning_rates(const torch::optim::Optimizer& o) {
  std::vector<double> out;
  for (const auto& g : o.param_groups())
    out.push_back(g.options().get_lr());
  return out;
}

void set_learning_rate(torch::optim::Optimizer& o, double lr,
                       const std::vector<double>& initial) {
  auto& groups = o.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    double ratio = 1;
    if (i > 0 && i < initial.size() && initial[0] != 0)
      ratio = initial[i] / initial[0];
    groups[i].options().set_lr(lr * ratio);
  }
}

} // namespace troupe::core
