#include "troupe/core/data/augment.hpp"

#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "troupe/core/util/errors.hpp"
#include "troupe/core/util/hash.hpp"

namespace troupe::core {

namespace {

/// 64 random bits for one sample: a hash chain over where it sits.
uint64_t draw(const augment_key& k, int64_t sample) {
  auto h = splitmix64(k.seed ^ 0xA5A5A5A5A5A5A5A5ull);
  for (auto v : {static_cast<uint64_t>(k.epoch), static_cast<uint64_t>(k.step),
                 static_cast<uint64_t>(k.rank), static_cast<uint64_t>(k.micro),
                 static_cast<uint64_t>(sample)})
    h = splitmix64(h ^ v);
  return h;
}

/// The number after the `prefix`-long name in `part`: 1 to `max`, at most
/// three digits; else a config_error naming --augment with `what`.
int64_t amount(const std::string& part, size_t prefix, int64_t max,
               const char* what) {
  auto arg = part.substr(prefix);
  bool digits = !arg.empty() && arg.size() <= 3
    && arg.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoll(arg) < 1 || std::stoll(arg) > max)
    throw config_error("augment", fmt::format("'{}': {}", part, what));
  return std::stoll(arg);
}

} // namespace

augment_spec parse_augment(const std::string& text) {
  augment_spec spec;
  if (text.empty() || text == "none")
    return spec;
  size_t at = 0;
  while (at <= text.size()) {
    auto end = text.find('+', at);
    if (end == std::string::npos)
      end = text.size();
    auto part = text.substr(at, end - at);
    if (part == "flip") {
      spec.flip = true;
    } else if (part.rfind("rotate:", 0) == 0) {
      spec.rotate_degrees = static_cast<double>(
        amount(part, 7, 180,
               "rotate needs a maximum angle of 1 to 180 degrees, "
               "e.g. rotate:15"));
    } else if (part.rfind("crop:", 0) == 0) {
      spec.crop_pad = amount(part, 5, 999,
                             "crop needs a padding of 1 to 999 pixels, e.g. "
                             "crop:4");
    } else {
      throw config_error("augment",
                         fmt::format("unknown augmentation '{}' (known: "
                                     "crop:P, flip, rotate:D, joined by '+')",
                                     part));
    }
    at = end + 1;
  }
  return spec;
}

int64_t image_side(int64_t features) {
  auto side = static_cast<int64_t>(
    std::llround(std::sqrt(static_cast<double>(features))));
  if (side * side != features)
    throw config_error("augment",
                       fmt::format("needs square images flattened to side x "
                                   "side features; the inputs have {} features",
                                   features));
  return side;
}

at::Tensor augment_batch(const at::Tensor& inputs, const augment_spec& spec,
                         const augment_key& key) {
  if (!spec.enabled())
    return inputs;
  auto n = inputs.size(0);
  auto side = image_side(inputs.size(1));
  auto images = inputs.reshape({n, side, side});
  auto out = at::empty_like(images);
  auto p = spec.crop_pad;
  for (int64_t i = 0; i < n; ++i) {
    auto r = draw(key, i);
    auto img = images[i];
    if (spec.rotate_degrees > 0) {
      // The angle from the high 24 bits; the low bits stay for crop and flip.
      auto u = static_cast<double>(r >> 40) / static_cast<double>(1ull << 24);
      auto a = (2 * u - 1) * spec.rotate_degrees * M_PI / 180;
      auto theta = torch::tensor(
        {{{std::cos(a), -std::sin(a), 0.0}, {std::sin(a), std::cos(a), 0.0}}},
        inputs.options());
      auto grid = at::affine_grid_generator(theta, {1, 1, side, side}, false);
      img = at::grid_sampler(img.view({1, 1, side, side}), grid, 0, 0, false)
              .view({side, side});
    }
    if (p > 0) {
      auto range = static_cast<uint64_t>(2 * p + 1);
      auto dy = static_cast<int64_t>(r % range);
      r /= range;
      auto dx = static_cast<int64_t>(r % range);
      r /= range;
      img = at::constant_pad_nd(img, {p, p, p, p}, 0)
              .narrow(0, dy, side)
              .narrow(1, dx, side);
    }
    if (spec.flip && (r & 1) != 0)
      img = img.flip({1});
    out[i].copy_(img);
  }
  return out.reshape({n, side * side});
}

} // namespace troupe::core
