#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/omittable.hpp>
#include <caf/meta/type_name.hpp>

namespace troupe {

/// A tensor that travels inside a message.
///
/// Locally the payload holds a tensor *handle*: the receiver sees the sender's
/// storage, so a sent tensor is immutable and receivers clone before mutating.
/// Serialized (traces, remote), it writes shape, dtype and the raw bytes as one
/// string, which CAF's binary serializer copies in one go.
struct tensor_payload {
  at::Tensor tensor;
};

/// Bit-exact comparison: same definedness, dtype, shape and bytes.
bool operator==(const tensor_payload& x, const tensor_payload& y);
inline bool operator!=(const tensor_payload& x, const tensor_payload& y) {
  return !(x == y);
}

namespace detail {

/// The serialized form of a tensor; dtype is c10::ScalarType or -1 (undefined).
struct tensor_bytes {
  std::vector<int64_t> shape;
  int32_t dtype = -1;
  std::string data;
};

tensor_bytes to_bytes(const at::Tensor& x);

/// Rebuilds a contiguous CPU tensor; rejects sizes that do not add up.
caf::error from_bytes(tensor_bytes&& x, at::Tensor& out);

} // namespace detail

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tensor_payload& x) {
  detail::tensor_bytes b;
  if constexpr (Inspector::reads_state)
    b = detail::to_bytes(x.tensor);
  auto load = caf::meta::load_callback(
    [&]() -> caf::error { return detail::from_bytes(std::move(b), x.tensor); });
  return f(caf::meta::type_name("tensor_payload"), b.shape, b.dtype,
           caf::meta::omittable(), b.data, load);
}

} // namespace troupe
