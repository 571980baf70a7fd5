// Augmentation: parsing, and what one augmented sample may be.

#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "troupe/core/data/augment.hpp"
#include "troupe/core/util/errors.hpp"

using namespace troupe::core;

TEST_CASE("augmentations parse, and bad ones name --augment",
          "[core][augment]") {
  CHECK_FALSE(parse_augment("").enabled());
  CHECK_FALSE(parse_augment("none").enabled());
  CHECK(parse_augment("crop:4").crop_pad == 4);
  CHECK(parse_augment("crop:2+flip").flip);
  CHECK(parse_augment("flip+crop:3").crop_pad == 3);
  CHECK(parse_augment("rotate:15+flip").rotate_degrees == 15);
  for (auto bad : {"crop", "crop:0", "crop:-1", "crop:x", "blur", "crop:4+",
                   "crop:1000", "rotate:0", "rotate:181", "rotate:"}) {
    INFO(bad);
    CHECK_THROWS_WITH(parse_augment(bad), Catch::Contains("--augment"));
  }
  CHECK(image_side(784) == 28);
  CHECK_THROWS_WITH(image_side(32), Catch::Contains("32 features"));
}

TEST_CASE("a cropped sample is the padded image seen through a shifted "
          "window",
          "[core][augment]") {
  const int64_t side = 6;
  const int64_t pad = 2;
  auto inputs = torch::arange(1, 8 * side * side + 1, torch::kFloat32)
                  .reshape({8, side * side});
  auto before = inputs.clone();
  auto spec = parse_augment("crop:2");
  augment_key key{3, 1, 17, 0, 0};
  auto out = augment_batch(inputs, spec, key);
  CHECK(inputs.equal(before)); // the dataset is never touched
  REQUIRE(out.sizes() == inputs.sizes());
  // Same key, same bits; another step, another draw.
  CHECK(augment_batch(inputs, spec, key).equal(out));
  key.step = 18;
  CHECK_FALSE(augment_batch(inputs, spec, key).equal(out));
  int64_t shifted = 0;
  for (int64_t i = 0; i < 8; ++i) {
    auto padded = torch::constant_pad_nd(inputs[i].reshape({side, side}),
                                         {pad, pad, pad, pad}, 0);
    auto got = out[i].reshape({side, side});
    int matches = 0;
    for (int64_t dy = 0; dy <= 2 * pad; ++dy)
      for (int64_t dx = 0; dx <= 2 * pad; ++dx)
        if (padded.narrow(0, dy, side).narrow(1, dx, side).equal(got)) {
          ++matches;
          shifted += (dy != pad || dx != pad) ? 1 : 0;
        }
    CHECK(matches == 1);
  }
  CHECK(shifted > 0);
}

TEST_CASE("a flipped sample is the image or its mirror", "[core][augment]") {
  auto inputs = torch::randn({64, 16});
  auto out = augment_batch(inputs, parse_augment("flip"), augment_key{});
  int64_t flipped = 0;
  for (int64_t i = 0; i < 64; ++i) {
    auto img = inputs[i].reshape({4, 4});
    auto got = out[i].reshape({4, 4});
    bool same = got.equal(img);
    bool mirror = got.equal(img.flip({1}));
    CHECK(same != mirror);
    flipped += mirror ? 1 : 0;
  }
  // About half: a coin per sample.
  CHECK(flipped > 16);
  CHECK(flipped < 48);
}

TEST_CASE("a rotated sample keeps its centre and differs elsewhere",
          "[core][augment]") {
  // A constant image: bilinear sampling keeps the interior, the rotated-in
  // corners are zeros (padding), so each rotated sample is a different
  // image with the same centre.
  auto inputs = torch::ones({32, 9 * 9});
  auto spec = parse_augment("rotate:30");
  augment_key key{1, 0, 5, 0, 0};
  auto out = augment_batch(inputs, spec, key);
  CHECK(augment_batch(inputs, spec, key).equal(out));
  int64_t changed = 0;
  for (int64_t i = 0; i < 32; ++i) {
    auto img = out[i].reshape({9, 9});
    CHECK(img[4][4].item<float>() == Approx(1.0f));
    changed += img[0][0].item<float>() < 0.99f ? 1 : 0;
  }
  CHECK(changed > 20);
}
