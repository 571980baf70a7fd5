#include "troupe/messages/tensor_payload.hpp"

#include <cstring>

#include <ATen/ATen.h>
#include <caf/sec.hpp>

namespace troupe {

bool operator==(const tensor_payload& x, const tensor_payload& y) {
  const auto& a = x.tensor;
  const auto& b = y.tensor;
  if (a.defined() != b.defined())
    return false;
  if (!a.defined())
    return true;
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes())
    return false;
  auto ca = a.contiguous().cpu();
  auto cb = b.contiguous().cpu();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) == 0;
}

namespace detail {

tensor_bytes to_bytes(const at::Tensor& x) {
  tensor_bytes result;
  if (!x.defined())
    return result;
  auto c = x.contiguous().cpu();
  result.shape.assign(c.sizes().begin(), c.sizes().end());
  result.dtype = static_cast<int32_t>(c.scalar_type());
  result.data.assign(static_cast<const char*>(c.data_ptr()), c.nbytes());
  return result;
}

caf::error from_bytes(tensor_bytes&& x, at::Tensor& out) {
  if (x.dtype < 0) {
    out = at::Tensor{};
    return caf::none;
  }
  if (x.dtype >= static_cast<int32_t>(c10::ScalarType::NumOptions))
    return caf::make_error(caf::sec::invalid_argument,
                           "tensor_payload: unknown dtype");
  auto dtype = static_cast<c10::ScalarType>(x.dtype);
  // Sizes come from outside (a trace): check every product for overflow.
  uint64_t numel = 1;
  for (auto d : x.shape) {
    if (d < 0)
      return caf::make_error(caf::sec::invalid_argument,
                             "tensor_payload: negative dimension");
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel))
      return caf::make_error(caf::sec::invalid_argument,
                             "tensor_payload: size overflows");
  }
  uint64_t element = 0;
  try {
    element = c10::elementSize(dtype);
  } catch (const std::exception&) {
    return caf::make_error(caf::sec::invalid_argument,
                           "tensor_payload: dtype without a size");
  }
  uint64_t expected = 0;
  if (__builtin_mul_overflow(numel, element, &expected)
      || expected != x.data.size())
    return caf::make_error(caf::sec::invalid_argument,
                           "tensor_payload: size mismatch");
  try {
    out = at::empty(x.shape, at::TensorOptions().dtype(dtype));
  } catch (const std::exception&) {
    return caf::make_error(caf::sec::invalid_argument,
                           "tensor_payload: dtype or shape not constructible");
  }
  if (expected > 0)
    std::memcpy(out.data_ptr(), x.data.data(), expected);
  return caf::none;
}

} // namespace detail

} // namespace troupe
