#include "troupe/core/train/model.hpp"

#include <torch/torch.h>

namespace troupe::core {

mlp_impl::mlp_impl(const std::vector<int64_t>& sizes) {
  for (size_t i = 0; i + 1 < sizes.size(); ++i)
    layers.push_back(register_module(
      "fc" + std::to_string(i + 1), torch::nn::Linear(sizes[i], sizes[i + 1])));
}

at::Tensor mlp_impl::forward(at::Tensor x) {
  for (size_t i = 0; i < layers.size(); ++i) {
    x = layers[i]->forward(x);
    if (i + 1 < layers.size())
      x = torch::relu(x);
  }
  return x;
}

step_output classification_outputs(const at::Tensor& logits,
                                   const at::Tensor& targets) {
  step_output out;
  out.loss = torch::nn::functional::cross_entropy(logits, targets);
  auto correct = logits.argmax(1).eq(targets).sum().item<int64_t>();
  out.metrics.push_back(
    {"acc",
     static_cast<double>(correct) / static_cast<double>(targets.size(0))});
  return out;
}

model_def mlp_classifier(std::vector<int64_t> sizes) {
  return make_model<mlp_impl>(
    [sizes] {
      return std::make_shared<mlp_impl>(sizes);
    },
    [](mlp_impl& m, const at::Tensor& x, const at::Tensor& y) {
      return classification_outputs(m.forward(x), y);
    });
}

void copy_state(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard guard;
  auto src = from.parameters();
  auto dst = to.parameters();
  TORCH_CHECK(src.size() == dst.size(), "copy_state: parameter count differs");
  for (size_t i = 0; i < src.size(); ++i)
    dst[i].copy_(src[i]);
  auto sb = from.buffers();
  auto db = to.buffers();
  TORCH_CHECK(sb.size() == db.size(), "copy_state: buffer count differs");
  for (size_t i = 0; i < sb.size(); ++i)
    db[i].copy_(sb[i]);
}

std::string error_text(const std::exception& e) {
  if (auto* t = dynamic_cast<const c10::Error*>(&e))
    return t->what_without_backtrace();
  return e.what();
}

uint64_t state_digest(const torch::nn::Module& m) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](const at::Tensor& t) {
    auto c = t.detach().contiguous().cpu();
    auto p = static_cast<const unsigned char*>(c.data_ptr());
    for (size_t i = 0, n = c.nbytes(); i < n; ++i) {
      h ^= p[i];
      h *= 0x100000001b3ull;
    }
  };
  for (const auto& p : m.parameters())
    mix(p);
  for (const auto& b : m.buffers())
    mix(b);
  return h;
}

} // namespace troupe::core
