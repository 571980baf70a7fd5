#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <ATen/core/Tensor.h>
#include <caf/detail/stringification_inspector.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/omittable.hpp>
#include <caf/meta/type_name.hpp>

namespace troupe {

/// What a trace recorded with `--trace-tensors=digest` keeps of a tensor:
/// shape, dtype and a 64-bit digest of its bytes (see `tensor_digest_of`).
struct tensor_digest {
  std::vector<int64_t> shape;
  int32_t dtype = -1;
  uint64_t value = 0;
};

/// A tensor that travels inside a message.
///
/// Locally the payload holds a tensor *handle*: the receiver sees the sender's
/// storage, so a sent tensor is immutable and receivers clone before mutating.
/// Serialized (traces, remote), it writes shape, dtype and the raw bytes as one
/// string, which CAF's binary serializer copies in one go; inside a
/// `scoped_tensor_digests` it writes the digest instead of the bytes.
struct tensor_payload {
  at::Tensor tensor;
  /// Set only on payloads read back from a digest: then `tensor` is
  /// undefined and this is all that is known of it.
  std::shared_ptr<const tensor_digest> digest;
};

/// Bit-exact comparison: same definedness, dtype, shape and bytes. A payload
/// read back from a digest equals a full one whose shape, dtype and digest
/// match.
bool operator==(const tensor_payload& x, const tensor_payload& y);
inline bool operator!=(const tensor_payload& x, const tensor_payload& y) {
  return !(x == y);
}

/// The digest of a tensor's contiguous bytes (64-bit, not cryptographic;
/// enough to tell recorded gradients apart). 0 only for an undefined tensor.
uint64_t tensor_digest_of(const at::Tensor& x);

/// While an instance lives, tensor payloads serialized on this thread write
/// digests instead of their bytes (the trace recorder sets it per record).
class scoped_tensor_digests {
public:
  explicit scoped_tensor_digests(bool on = true);
  ~scoped_tensor_digests();
  scoped_tensor_digests(const scoped_tensor_digests&) = delete;
  scoped_tensor_digests& operator=(const scoped_tensor_digests&) = delete;

private:
  bool previous_;
};

namespace detail {

/// Set in `dtype` when `data` holds the 8-byte digest instead of the bytes.
constexpr int32_t digest_flag = 0x10000;

/// The serialized form of a tensor; dtype is c10::ScalarType or -1
/// (undefined), or'ed with `digest_flag` for a digest.
struct tensor_bytes {
  std::vector<int64_t> shape;
  int32_t dtype = -1;
  std::string data;
};

/// Full bytes, or the digest inside a `scoped_tensor_digests` (and always
/// for a payload that only holds a digest).
tensor_bytes to_bytes(const tensor_payload& x);

/// Rebuilds a contiguous CPU tensor, or a digest-only payload; rejects
/// sizes that do not add up.
caf::error from_bytes(tensor_bytes&& x, tensor_payload& out);

} // namespace detail

namespace detail {

/// What a printed payload shows: shape, dtype name, and the digest (never
/// the bytes), e.g. "tensor_payload([64, 32], Float, digest 9f…)".
std::string describe(const tensor_payload& x);

} // namespace detail

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tensor_payload& x) {
  if constexpr (std::is_same<Inspector,
                             caf::detail::stringification_inspector>::value) {
    auto text = detail::describe(x);
    return f(caf::meta::type_name("tensor_payload"), text);
  }
  detail::tensor_bytes b;
  if constexpr (Inspector::reads_state)
    b = detail::to_bytes(x);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    return detail::from_bytes(std::move(b), x);
  });
  return f(caf::meta::type_name("tensor_payload"), b.shape, b.dtype,
           caf::meta::omittable(), b.data, load);
}

} // namespace troupe
