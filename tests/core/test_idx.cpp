// LibTorch (glog) before Catch: both define CHECK, and Catch's must win.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <vector>

#include <zlib.h>

#include "temp_dir.hpp"
#include "troupe/core/data/datasets.hpp"
#include "troupe/core/data/idx_reader.hpp"
#include "troupe/core/util/errors.hpp"

using namespace troupe::core;
using troupe::test::temp_dir;

namespace {

std::vector<uint8_t> idx_bytes(std::vector<uint32_t> dims,
                               std::vector<uint8_t> data, uint8_t type = 0x08) {
  std::vector<uint8_t> out{0, 0, type, static_cast<uint8_t>(dims.size())};
  for (auto d : dims)
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<uint8_t>(d >> shift));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!bytes.empty())
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) > 0);
  gzclose(f);
}

std::string error_of(const std::string& path, int rank) {
  try {
    read_idx(path, rank);
  } catch (const data_error& e) {
    CHECK(e.file() == path);
    CHECK(std::string{e.what()}.find(path) != std::string::npos);
    return e.what();
  }
  FAIL("accepted " << path);
  return {};
}

} // namespace

TEST_CASE("a valid IDX file reads back", "[core][data]") {
  temp_dir dir;
  auto p = dir / "images.gz";
  write_gz(p, idx_bytes({2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  auto a = read_idx(p, 3);
  CHECK(a.dims == std::vector<int64_t>{2, 2, 3});
  CHECK(a.data.size() == 12);
  CHECK(a.data[11] == 12);
}

TEST_CASE("bad IDX files are refused naming the file", "[core][data]") {
  temp_dir dir;
  SECTION("missing") {
    CHECK(error_of(dir / "nope.gz", 1).find("not found") != std::string::npos);
  }
  SECTION("bad magic") {
    auto p = dir / "magic.gz";
    write_gz(p, {0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 5});
    CHECK(error_of(p, 1).find("bad magic") != std::string::npos);
  }
  SECTION("wrong element type") {
    auto p = dir / "type.gz";
    write_gz(p, idx_bytes({1}, {5}, 0x0d));
    CHECK(error_of(p, 1).find("bad magic") != std::string::npos);
  }
  SECTION("wrong rank") {
    auto p = dir / "rank.gz";
    write_gz(p, idx_bytes({1}, {5}));
    CHECK(error_of(p, 3).find("dimensions") != std::string::npos);
  }
  SECTION("truncated data") {
    auto p = dir / "short.gz";
    write_gz(p, idx_bytes({4}, {1, 2}));
    CHECK(error_of(p, 1).find("truncated") != std::string::npos);
  }
  SECTION("size mismatch") {
    auto p = dir / "long.gz";
    write_gz(p, idx_bytes({1}, {1, 2, 3}));
    CHECK(error_of(p, 1).find("size mismatch") != std::string::npos);
  }
  SECTION("a header announcing more than the file can hold") {
    auto p = dir / "huge.gz";
    write_gz(p, idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {1, 2}));
    CHECK(error_of(p, 3).find("corrupt header") != std::string::npos);
    write_gz(p, idx_bytes({100'000'000}, {1, 2}));
    CHECK(error_of(p, 1).find("compressed bytes can hold")
          != std::string::npos);
  }
  SECTION("corrupt gzip stream") {
    auto p = dir / "corrupt.gz";
    write_gz(p, idx_bytes({1000}, std::vector<uint8_t>(1000, 7)));
    auto bytes = troupe::test::read_text(p);
    bytes.resize(bytes.size() / 2); // cut the compressed stream
    FILE* f = std::fopen(p.c_str(), "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    auto msg = error_of(p, 1);
    CHECK((msg.find("corrupt") != std::string::npos
           || msg.find("truncated") != std::string::npos));
  }
}

TEST_CASE("image datasets check counts and label range", "[core][data]") {
  temp_dir dir;
  write_gz(dir / "img.gz",
           idx_bytes({2, 2, 2}, {0, 255, 0, 255, 51, 51, 51, 51}));
  SECTION("valid: pixels scaled to [0, 1]") {
    write_gz(dir / "lbl.gz", idx_bytes({2}, {3, 9}));
    auto d = make_image_dataset(dir / "img.gz", dir / "lbl.gz", 10, 2);
    REQUIRE(d.size() == 2);
    CHECK(d.inputs.size(1) == 4);
    CHECK(d.inputs[0][1].item<float>() == 1.0f);
    CHECK(d.inputs[1][0].item<float>() == Approx(0.2f));
    CHECK(d.targets[1].item<int64_t>() == 9);
  }
  SECTION("every byte value scales exactly as a float conversion then a "
          "division would") {
    std::vector<uint8_t> all(256);
    for (int i = 0; i < 256; ++i)
      all[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
    write_gz(dir / "all.gz", idx_bytes({4, 8, 8}, all));
    write_gz(dir / "lbl.gz", idx_bytes({4}, {0, 1, 2, 3}));
    auto d = make_image_dataset(dir / "all.gz", dir / "lbl.gz", 10, 8);
    auto bytes = torch::arange(256, torch::kInt64).to(torch::kUInt8);
    auto expected = bytes.to(torch::kFloat32).div_(255.0f).view({4, 64});
    CHECK(d.inputs.equal(expected));
  }
  SECTION("label out of range") {
    write_gz(dir / "lbl.gz", idx_bytes({2}, {3, 10}));
    try {
      make_image_dataset(dir / "img.gz", dir / "lbl.gz", 10, 2);
      FAIL("accepted");
    } catch (const data_error& e) {
      CHECK(e.file() == dir / "lbl.gz");
      CHECK(std::string{e.what()}.find("out of range") != std::string::npos);
    }
  }
  SECTION("wrong image size") {
    write_gz(dir / "lbl.gz", idx_bytes({2}, {3, 9}));
    try {
      make_image_dataset(dir / "img.gz", dir / "lbl.gz"); // expects 28x28
      FAIL("accepted");
    } catch (const data_error& e) {
      CHECK(e.file() == dir / "img.gz");
      CHECK(std::string{e.what()}.find("2x2, expected 28x28")
            != std::string::npos);
    }
  }
  SECTION("count mismatch") {
    write_gz(dir / "lbl.gz", idx_bytes({3}, {1, 2, 3}));
    CHECK_THROWS_AS(make_image_dataset(dir / "img.gz", dir / "lbl.gz", 10, 2),
                    data_error);
  }
}

TEST_CASE("the Fashion-MNIST loader names a missing file", "[core][data]") {
  temp_dir dir;
  try {
    load_fashion_mnist(dir.path());
    FAIL("accepted");
  } catch (const data_error& e) {
    CHECK(e.file() == dir / "train-images-idx3-ubyte.gz");
  }
}

TEST_CASE("epoch order is a pure function of seed and epoch", "[core][data]") {
  auto a = epoch_order(100, 7, 3, true);
  auto b = epoch_order(100, 7, 3, true);
  auto c = epoch_order(100, 7, 4, true);
  CHECK(a.equal(b));
  CHECK_FALSE(a.equal(c));
  CHECK(std::get<0>(a.sort()).equal(torch::arange(100, torch::kInt64)));
  CHECK(epoch_order(5, 7, 0, false).equal(torch::arange(5, torch::kInt64)));
}
