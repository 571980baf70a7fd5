#include "troupe/core/train/rng.hpp"

#include <mutex>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Tensor.h>

#include "troupe/core/util/hash.hpp"

namespace troupe::core {

namespace {

thread_local const at::Generator* current = nullptr;

} // namespace

at::Generator replica_generator() {
  if (current != nullptr)
    return *current;
  return at::detail::getDefaultCPUGenerator();
}

at::Generator make_replica_generator(uint64_t seed, int64_t rank) {
  // The rank-th output of a splitmix64 stream seeded with `seed`: distinct,
  // well-mixed streams per replica.
  return at::make_generator<at::CPUGeneratorImpl>(
    splitmix64(seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(rank)));
}

replica_generator_scope::replica_generator_scope(const at::Generator& gen)
    : previous_(current) {
  current = &gen;
}

replica_generator_scope::~replica_generator_scope() {
  current = previous_;
}

at::Tensor global_generator_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> guard{gen.mutex()};
  return gen.get_state();
}

} // namespace troupe::core
