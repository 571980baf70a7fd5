#pragma once

// Training-time augmentation, applied by the loader to every training
// micro-batch (never to validation or test data). Each sample's random draw
// is a pure function of (seed, epoch, step, rank, micro-batch, sample), so
// augmented runs stay bit-identical whatever the thread count.

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

namespace troupe::core {

struct augment_spec {
  /// Random crop: pad each side with `crop_pad` zeros, then cut a window of
  /// the original size at a random offset. 0 = off.
  int64_t crop_pad = 0;
  /// Mirror left-right with probability 1/2.
  bool flip = false;
  /// Rotate by a random angle in [-rotate_degrees, rotate_degrees] about the
  /// centre, bilinear, zeros outside. 0 = off.
  double rotate_degrees = 0;

  bool enabled() const noexcept {
    return crop_pad > 0 || flip || rotate_degrees > 0;
  }
};

/// Parses "", "none", "crop:P", "flip", "rotate:D" or several joined by '+'
/// ("rotate:15+crop:4+flip"; applied in the order rotate, crop, flip).
/// Throws config_error naming --augment.
augment_spec parse_augment(const std::string& text);

/// Where in the run a micro-batch sits (the random draws depend on it).
struct augment_key {
  uint64_t seed = 0;
  int64_t epoch = 0;
  int64_t step = 0;
  int32_t rank = 0;
  int64_t micro = 0;
};

/// `inputs`: [batch, side * side] square single-channel images, flattened
/// (as the datasets here are). Returns a new tensor; `inputs` is not
/// touched. Done sample by sample, as a data set's transform would.
at::Tensor augment_batch(const at::Tensor& inputs, const augment_spec& spec,
                         const augment_key& key);

/// The image side of `features` flattened square pixels; throws
/// config_error naming --augment when `features` is not a square.
int64_t image_side(int64_t features);

} // namespace troupe::core
