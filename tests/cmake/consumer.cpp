// A program outside the troupe tree: its own model (with troupe dropout),
// optimizer and learning-rate schedule, trained a few steps through the
// public API; README's "Your own model, optimizer and schedule" is this.
#include <cstdio>
#include <filesystem>
#include <string>

#include <unistd.h>

#include <torch/torch.h>

#include "troupe/actors/trainer.hpp"
#include "troupe/core/data/datasets.hpp"
#include "troupe/core/train/layers.hpp"
#include "troupe/core/train/model.hpp"

// -- README: your own model, optimizer and schedule ---------------------------
struct net_impl : torch::nn::Module {
  net_impl() {
    fc1 = register_module("fc1", torch::nn::Linear(8, 32));
    drop = register_module("drop", troupe::core::dropout(0.2));
    fc2 = register_module("fc2", torch::nn::Linear(32, 3));
  }
  at::Tensor forward(const at::Tensor& x) {
    return fc2(drop(torch::relu(fc1(x))));
  }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  troupe::core::dropout drop{nullptr}; // masks from the replica's generator
};

troupe::core::model_def my_model() {
  return troupe::core::make_model<net_impl>(
    [] {
      return std::make_shared<net_impl>();
    },
    [](net_impl& m, const at::Tensor& x, const at::Tensor& y) {
      return troupe::core::classification_outputs(m.forward(x), y);
    });
}

void use_my_recipe(troupe::trainer& t) {
  // Any torch::optim::Optimizer, built once per replica.
  t.optimizer([](const std::vector<at::Tensor>& params) {
    return std::make_unique<torch::optim::Adam>(
      params, torch::optim::AdamOptions(3e-3).weight_decay(1e-4));
  });
  // The rate of optimizer step s (1-based); a pure function of s.
  t.lr_schedule([](int64_t s) {
    return 3e-3 / std::sqrt(double(s));
  });
}
// -----------------------------------------------------------------------------

int main() {
  troupe::core::trainer_options opts;
  opts.max_steps = 5;
  opts.batch_size = 16;
  opts.replicas = 2;
  opts.clip_grad_norm = 1.0;
  opts.loggers = {"csv"};
  auto tmpl
    = (std::filesystem::temp_directory_path() / "troupe-consumer-XXXXXX")
        .string();
  opts.run_dir = std::string{mkdtemp(tmpl.data())} + "/run";
  troupe::trainer t{opts, "consumer"};
  use_my_recipe(t);
  auto data = troupe::core::make_synthetic(256, 32, 32, 8, 3);
  auto report = t.fit(my_model(), data);
  std::printf("consumer: %s after %lld steps\n", to_string(report.status),
              static_cast<long long>(report.global_step));
  bool ok = report.status == troupe::fit_status::completed
    && report.global_step == 5 && t.model() != nullptr
    && std::filesystem::exists(opts.run_dir + "/summary.json");
  if (!ok)
    std::printf("consumer: %s\n", report.error.c_str());
  std::filesystem::remove_all(
    std::filesystem::path(opts.run_dir).parent_path());
  return ok ? 0 : 1;
}
