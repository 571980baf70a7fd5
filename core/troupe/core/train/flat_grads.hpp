#pragma once

// Flat gradient buffers: one contiguous tensor per replica whose slices are
// the parameters' `.grad`, so gradients reduce without a packing copy.

#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

namespace troupe::core {

class flat_grads {
public:
  flat_grads() = default;

  /// Allocates one buffer for all `params` and makes every `.grad` a view
  /// into it. Autograd then accumulates in place into the buffer.
  explicit flat_grads(const std::vector<at::Tensor>& params);

  const at::Tensor& buffer() const noexcept {
    return buffer_;
  }

  /// Sets every gradient to zero (in place, views stay).
  void zero();

  /// Runs `step` (an optimizer step) with every `.grad` a view into
  /// `reduced` (laid out like the buffer), then points them back at the
  /// buffer, also when `step` throws. No copy: every replica reads the one
  /// reduced tensor, so `step` must not write the gradients in place
  /// (LibTorch's optimizers only read them). When `reduced` is this buffer
  /// (one replica) the views stay as they are.
  void step_with(const at::Tensor& reduced, const std::function<void()>& step);

  /// True while every parameter's `.grad` still aliases the buffer.
  bool intact() const;

private:
  std::vector<at::Tensor> params_;
  at::Tensor buffer_;
};

/// Sums `xs` in the order given (rank order), whatever order they arrived
/// in: ((x0 + x1) + x2) + ... With one input, returns it without copying.
at::Tensor rank_ordered_sum(const std::vector<at::Tensor>& xs);

/// The same sum into a preallocated `out` (same shape as every input).
void rank_ordered_sum_into(at::Tensor& out, const std::vector<at::Tensor>& xs);

/// Output buffers for reduced gradients, reused once nobody else holds them.
/// A reduced gradient travels to the steppers by handle; they step from it
/// and let go, so after a step or two its buffer is free again. Allocating a
/// fresh multi-megabyte tensor each step instead costs page faults: at 10M
/// parameters, three times the time of the sum itself (bench/reduce_bandwidth).
class reduce_buffers {
public:
  /// Keeps at most `capacity` buffers; beyond that, allocates.
  explicit reduce_buffers(size_t capacity = 4) : capacity_(capacity) {}

  /// A tensor shaped like `like` that no one else references.
  at::Tensor acquire(const at::Tensor& like);

  /// The rank-ordered sum of `xs` into an acquired buffer; with one input,
  /// the input itself (no copy).
  at::Tensor sum(const std::vector<at::Tensor>& xs);

  size_t size() const noexcept {
    return buffers_.size();
  }

private:
  size_t capacity_;
  std::vector<at::Tensor> buffers_;
};

} // namespace troupe::core
