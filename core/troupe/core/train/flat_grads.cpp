#include "troupe/core/train/flat_grads.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

namespace troupe::core {

namespace {

/// Makes every `.grad` of `params` a view into `flat`, in order.
void point_grads(std::vector<at::Tensor>& params, const at::Tensor& flat) {
  int64_t offset = 0;
  for (auto& p : params) {
    auto n = p.numel();
    p.mutable_grad() = flat.narrow(0, offset, n).view(p.sizes());
    offset += n;
  }
}

} // namespace

flat_grads::flat_grads(const std::vector<at::Tensor>& params)
    : params_(params) {
  int64_t total = 0;
  for (const auto& p : params_)
    total += p.numel();
  auto opts = params_.empty() ? torch::TensorOptions().dtype(torch::kFloat32)
                              : params_.front().options();
  buffer_ = torch::zeros({total}, opts.requires_grad(false));
  point_grads(params_, buffer_);
}

void flat_grads::zero() {
  buffer_.zero_();
}

void flat_grads::step_with(const at::Tensor& reduced,
                           const std::function<void()>& step) {
  if (reduced.is_same(buffer_))
    return step();
  if (reduced.dim() != 1 || reduced.numel() != buffer_.numel()
      || reduced.scalar_type() != buffer_.scalar_type()
      || reduced.device() != buffer_.device() || !reduced.is_contiguous())
    throw std::invalid_argument(fmt::format(
      "the reduced gradient ({}-d, {} elements of {} on {}{}) does not match "
      "this replica's gradient buffer (1-d, {} elements of {} on {})",
      reduced.dim(), reduced.numel(), c10::toString(reduced.scalar_type()),
      reduced.device().str(), reduced.is_contiguous() ? "" : ", strided",
      buffer_.numel(), c10::toString(buffer_.scalar_type()),
      buffer_.device().str()));
  // Put back on every path, also when pointing the views fails midway.
  struct restore {
    flat_grads& g;
    ~restore() {
      point_grads(g.params_, g.buffer_);
    }
  } back{*this};
  point_grads(params_, reduced);
  step();
}

bool flat_grads::intact() const {
  auto base = static_cast<const char*>(buffer_.data_ptr());
  auto end = base + buffer_.nbytes();
  for (const auto& p : params_) {
    const auto& g = p.grad();
    if (!g.defined())
      return false;
    auto ptr = static_cast<const char*>(g.data_ptr());
    if (ptr < base || ptr >= end)
      return false;
  }
  return true;
}

at::Tensor rank_ordered_sum(const std::vector<at::Tensor>& xs) {
  TORCH_CHECK(!xs.empty(), "rank_ordered_sum: no inputs");
  if (xs.size() == 1)
    return xs.front();
  auto out = torch::empty_like(xs.front());
  rank_ordered_sum_into(out, xs);
  return out;
}

void rank_ordered_sum_into(at::Tensor& out, const std::vector<at::Tensor>& xs) {
  TORCH_CHECK(!xs.empty(), "rank_ordered_sum_into: no inputs");
  if (xs.size() == 1) {
    out.copy_(xs[0]);
    return;
  }
  torch::add_out(out, xs[0], xs[1]);
  for (size_t i = 2; i < xs.size(); ++i)
    out.add_(xs[i]);
}

at::Tensor reduce_buffers::acquire(const at::Tensor& like) {
  for (auto& b : buffers_)
    // use_count() == 1: only this pool holds it; nobody can take a new
    // reference behind our back, so it is free whatever the other threads do.
    if (b.use_count() == 1 && b.sizes() == like.sizes()
        && b.scalar_type() == like.scalar_type() && b.device() == like.device())
      return b;
  auto fresh = torch::empty_like(like, at::MemoryFormat::Contiguous);
  if (buffers_.size() < capacity_)
    buffers_.push_back(fresh);
  return fresh;
}

at::Tensor reduce_buffers::sum(const std::vector<at::Tensor>& xs) {
  TORCH_CHECK(!xs.empty(), "reduce_buffers::sum: no inputs");
  if (xs.size() == 1)
    return xs.front();
  auto out = acquire(xs.front());
  rank_ordered_sum_into(out, xs);
  return out;
}

} // namespace troupe::core
