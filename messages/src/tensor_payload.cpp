#include "troupe/messages/tensor_payload.hpp"

#include <cstdio>
#include <cstring>

#include <ATen/ATen.h>
#include <caf/sec.hpp>

namespace troupe {

namespace {

thread_local bool write_digests = false;

constexpr uint64_t k1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t k2 = 0xC2B2AE3D27D4EB4Full;
constexpr uint64_t k3 = 0x165667B19E3779F9ull;

inline uint64_t rotl(uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

inline uint64_t mix(uint64_t acc, uint64_t w) {
  return rotl(acc + w * k2, 31) * k1;
}

inline uint64_t load64(const unsigned char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

/// Four independent multiply-rotate lanes over 32-byte blocks, folded, then
/// the tail, then a final avalanche (the shape of xxHash's 64-bit variant).
uint64_t hash_bytes(const unsigned char* p, size_t n) {
  uint64_t h;
  size_t left = n;
  if (left >= 32) {
    uint64_t a = k1 + k2;
    uint64_t b = k2;
    uint64_t c = 0;
    uint64_t d = 0 - k1;
    for (; left >= 32; left -= 32, p += 32) {
      a = mix(a, load64(p));
      b = mix(b, load64(p + 8));
      c = mix(c, load64(p + 16));
      d = mix(d, load64(p + 24));
    }
    h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18);
    for (auto lane : {a, b, c, d})
      h = (h ^ mix(0, lane)) * k1 + k3;
  } else {
    h = k3;
  }
  h += n;
  for (; left >= 8; left -= 8, p += 8)
    h = rotl(h ^ mix(0, load64(p)), 27) * k1 + k3;
  for (; left > 0; --left, ++p)
    h = rotl(h ^ (*p * k3), 11) * k1;
  h ^= h >> 33;
  h *= k2;
  h ^= h >> 29;
  h *= k3;
  h ^= h >> 32;
  return h == 0 ? 1 : h;
}

bool same_digest(const tensor_digest& d, const at::Tensor& t) {
  if (!t.defined())
    return d.dtype < 0;
  return d.dtype == static_cast<int32_t>(t.scalar_type())
    && at::IntArrayRef{d.shape} == t.sizes() && d.value == tensor_digest_of(t);
}

} // namespace

uint64_t tensor_digest_of(const at::Tensor& x) {
  if (!x.defined())
    return 0;
  auto c = x.contiguous().cpu();
  return hash_bytes(static_cast<const unsigned char*>(c.data_ptr()),
                    c.nbytes());
}

scoped_tensor_digests::scoped_tensor_digests(bool on)
    : previous_(write_digests) {
  write_digests = on;
}

scoped_tensor_digests::~scoped_tensor_digests() {
  write_digests = previous_;
}

bool operator==(const tensor_payload& x, const tensor_payload& y) {
  if (x.digest || y.digest) {
    if (x.digest && y.digest)
      return x.digest->shape == y.digest->shape
        && x.digest->dtype == y.digest->dtype
        && x.digest->value == y.digest->value;
    return x.digest ? same_digest(*x.digest, y.tensor)
                    : same_digest(*y.digest, x.tensor);
  }
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

tensor_bytes to_bytes(const tensor_payload& x) {
  tensor_bytes result;
  if (x.digest) {
    result.shape = x.digest->shape;
    result.dtype = x.digest->dtype | digest_flag;
    result.data.resize(8);
    std::memcpy(result.data.data(), &x.digest->value, 8);
    return result;
  }
  if (!x.tensor.defined())
    return result;
  auto c = x.tensor.contiguous().cpu();
  result.shape.assign(c.sizes().begin(), c.sizes().end());
  result.dtype = static_cast<int32_t>(c.scalar_type());
  if (write_digests) {
    result.dtype |= digest_flag;
    auto h = hash_bytes(static_cast<const unsigned char*>(c.data_ptr()),
                        c.nbytes());
    result.data.resize(8);
    std::memcpy(result.data.data(), &h, 8);
    return result;
  }
  result.data.assign(static_cast<const char*>(c.data_ptr()), c.nbytes());
  return result;
}

std::string describe(const tensor_payload& x) {
  std::vector<int64_t> shape;
  int32_t dtype = -1;
  uint64_t digest = 0;
  if (x.digest) {
    shape = x.digest->shape;
    dtype = x.digest->dtype;
    digest = x.digest->value;
  } else if (x.tensor.defined()) {
    shape.assign(x.tensor.sizes().begin(), x.tensor.sizes().end());
    dtype = static_cast<int32_t>(x.tensor.scalar_type());
    digest = tensor_digest_of(x.tensor);
  } else {
    return "undefined";
  }
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  out += "], ";
  out += c10::toString(static_cast<c10::ScalarType>(dtype));
  char hex[32];
  std::snprintf(hex, sizeof(hex), ", %s %016llx",
                x.digest ? "digest" : "values",
                static_cast<unsigned long long>(digest));
  return out + hex;
}

caf::error from_bytes(tensor_bytes&& x, tensor_payload& out) {
  out.digest.reset();
  if (x.dtype == -1) {
    out.tensor = at::Tensor{};
    return caf::none;
  }
  bool digest = x.dtype >= 0 && (x.dtype & digest_flag) != 0;
  auto dtype_id = digest ? x.dtype & ~digest_flag : x.dtype;
  if (dtype_id < 0
      || dtype_id >= static_cast<int32_t>(c10::ScalarType::NumOptions))
    return caf::make_error(caf::sec::invalid_argument,
                           "tensor_payload: unknown dtype");
  auto dtype = static_cast<c10::ScalarType>(dtype_id);
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
  if (__builtin_mul_overflow(numel, element, &expected))
    return caf::make_error(caf::sec::invalid_argument,
                           "tensor_payload: size overflows");
  if (digest) {
    if (x.data.size() != 8)
      return caf::make_error(caf::sec::invalid_argument,
                             "tensor_payload: a digest has 8 bytes");
    auto d = std::make_shared<tensor_digest>();
    d->shape = std::move(x.shape);
    d->dtype = dtype_id;
    std::memcpy(&d->value, x.data.data(), 8);
    out.tensor = at::Tensor{};
    out.digest = std::move(d);
    return caf::none;
  }
  if (expected != x.data.size())
    return caf::make_error(caf::sec::invalid_argument,
                           "tensor_payload: size mismatch");
  try {
    out.tensor = at::empty(x.shape, at::TensorOptions().dtype(dtype));
  } catch (const std::exception&) {
    return caf::make_error(caf::sec::invalid_argument,
                           "tensor_payload: dtype or shape not constructible");
  }
  if (expected > 0)
    std::memcpy(out.tensor.data_ptr(), x.data.data(), expected);
  return caf::none;
}

} // namespace detail

} // namespace troupe
