#include "troupe/core/train/model.hpp"

#include <cstring>
#include <stdexcept>

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

cnn_impl::cnn_impl(const cnn_spec& s) : spec(s) {
  using namespace torch::nn;
  if (s.side < 4 || s.side % 4 != 0)
    throw std::invalid_argument("cnn: the image side must be a positive "
                                "multiple of 4, got "
                                + std::to_string(s.side));
  conv1 = register_module("conv1",
                          Conv2d(Conv2dOptions(1, s.channels1, 3).padding(1)));
  if (s.batch_norm)
    bn1 = register_module("bn1", BatchNorm2d(s.channels1));
  conv2 = register_module(
    "conv2", Conv2d(Conv2dOptions(s.channels1, s.channels2, 3).padding(1)));
  if (s.batch_norm)
    bn2 = register_module("bn2", BatchNorm2d(s.channels2));
  auto pooled = s.side / 4;
  fc1 = register_module("fc1", Linear(s.channels2 * pooled * pooled, s.hidden));
  fc2 = register_module("fc2", Linear(s.hidden, s.classes));
  drop = register_module("drop", core::dropout(s.dropout));
}

at::Tensor cnn_impl::forward(at::Tensor x) {
  x = x.reshape({x.size(0), 1, spec.side, spec.side});
  x = conv1->forward(x);
  if (bn1)
    x = bn1->forward(x);
  x = torch::max_pool2d(torch::relu(x), 2);
  x = conv2->forward(x);
  if (bn2)
    x = bn2->forward(x);
  x = torch::max_pool2d(torch::relu(x), 2);
  x = torch::relu(fc1->forward(x.flatten(1)));
  return fc2->forward(drop->forward(x));
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

model_def cnn_classifier(cnn_spec spec) {
  return make_model<cnn_impl>(
    [spec] {
      return std::make_shared<cnn_impl>(spec);
    },
    [](cnn_impl& m, const at::Tensor& x, const at::Tensor& y) {
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

std::string first_difference(const torch::nn::Module& a,
                             const torch::nn::Module& b) {
  auto same = [](const at::Tensor& x, const at::Tensor& y) {
    auto p = x.detach().contiguous().cpu();
    auto q = y.detach().contiguous().cpu();
    return p.sizes() == q.sizes() && p.scalar_type() == q.scalar_type()
      && std::memcmp(p.data_ptr(), q.data_ptr(), p.nbytes()) == 0;
  };
  auto pa = a.named_parameters();
  auto pb = b.named_parameters();
  for (const auto& item : pa) {
    auto* other = pb.find(item.key());
    if (other == nullptr || !same(item.value(), *other))
      return "parameter '" + item.key() + "'";
  }
  auto ba = a.named_buffers();
  auto bb = b.named_buffers();
  for (const auto& item : ba) {
    auto* other = bb.find(item.key());
    if (other == nullptr || !same(item.value(), *other))
      return "buffer '" + item.key() + "'";
  }
  return {};
}

} // namespace troupe::core
