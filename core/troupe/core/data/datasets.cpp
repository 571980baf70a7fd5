#include "troupe/core/data/datasets.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <fmt/format.h>

#include "troupe/core/data/idx_reader.hpp"
#include "troupe/core/runtime/memory.hpp"
#include "troupe/core/util/errors.hpp"

namespace troupe::core {

tensor_dataset tensor_dataset::slice(int64_t begin, int64_t end) const {
  return {inputs.slice(0, begin, end), targets.slice(0, begin, end)};
}

tensor_dataset make_image_dataset(const std::string& images_path,
                                  const std::string& labels_path,
                                  int64_t num_classes, int64_t expected_side) {
  auto images = read_idx(images_path, 3);
  auto labels = read_idx(labels_path, 1);
  if (images.dims[0] != labels.dims[0])
    throw data_error(labels_path,
                     fmt::format("size mismatch: {} labels for {} images in {}",
                                 labels.dims[0], images.dims[0], images_path));
  for (size_t i = 0; i < labels.data.size(); ++i)
    if (labels.data[i] >= num_classes)
      throw data_error(labels_path,
                       fmt::format("label {} of sample {} is out of range "
                                   "[0, {})",
                                   int{labels.data[i]}, i, num_classes));
  auto n = images.dims[0];
  if (images.dims[1] != expected_side || images.dims[2] != expected_side)
    throw data_error(images_path,
                     fmt::format("images are {}x{}, expected {}x{}",
                                 images.dims[1], images.dims[2], expected_side,
                                 expected_side));
  auto features = images.dims[1] * images.dims[2];
  auto raw = torch::from_blob(images.data.data(), {n, features}, torch::kUInt8);
  // Bytes to [0, 1] floats in place, in pages advised huge before they are
  // touched (a 60000-image set is 188 MB of floats). copy_ converts inside
  // its loop; an op with a uint8 input and a float result would first
  // convert the input into a temporary as large as the output.
  auto x = torch::empty({n, features}, torch::kFloat32);
  advise_huge_pages(x.data_ptr(), x.nbytes());
  x.copy_(raw).div_(255.0f);
  auto y = torch::from_blob(labels.data.data(), {n}, torch::kUInt8)
             .to(torch::kInt64);
  return {x, y};
}

data_module load_fashion_mnist(const std::string& dir, int64_t train_size) {
  auto path = [&](const char* name) {
    return dir + "/" + name;
  };
  auto train = make_image_dataset(path("train-images-idx3-ubyte.gz"),
                                  path("train-labels-idx1-ubyte.gz"));
  auto test = make_image_dataset(path("t10k-images-idx3-ubyte.gz"),
                                 path("t10k-labels-idx1-ubyte.gz"));
  if (train.size() <= train_size)
    throw data_error(path("train-images-idx3-ubyte.gz"),
                     fmt::format("holds {} images, need more than {} for "
                                 "training plus validation",
                                 train.size(), train_size));
  return {train.slice(0, train_size), train.slice(train_size, train.size()),
          test};
}

data_module make_synthetic(int64_t train, int64_t val, int64_t test,
                           int64_t features, int64_t classes, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto centres = torch::randn({classes, features}, gen, torch::kFloat32) * 0.3;
  auto make = [&](int64_t n) {
    auto y = torch::randint(0, classes, {n}, gen, torch::kInt64);
    auto x = centres.index_select(0, y)
      + torch::randn({n, features}, gen, torch::kFloat32);
    return tensor_dataset{x.contiguous(), y};
  };
  data_module result;
  result.train = make(train);
  result.val = make(val);
  result.test = make(test);
  return result;
}

at::Tensor epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  if (!shuffle)
    return torch::arange(n, torch::kInt64);
  // Mix seed and epoch so that every epoch has its own generator state.
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch)
    + 0x632BE59BD9B4E019ull;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(s);
  return torch::randperm(n, gen, torch::kInt64);
}

} // namespace troupe::core
