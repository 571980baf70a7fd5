// Gradient reduction bandwidth: the aggregator's rank-ordered sum of N flat
// gradient buffers (into its reused output buffers) against a plain copy of the
// same bytes in the same program (memcpy), for 1M and 10M parameters. Bytes
// moved: the sum reads N buffers and writes one; the copy reads and writes the
// N buffers. Each figure is the median of 5 alternating A B rounds.
//
//   ./build/bench/reduce_bandwidth [--replicas=2]

#include <cstring>

#include "bench_util.hpp"
#include "troupe/core/config/cli.hpp"
#include "troupe/core/runtime/blas.hpp"
#include "troupe/core/train/flat_grads.hpp"

namespace {

template <class F>
double time_per_call(F&& f, double budget = 0.15) {
  f(); // warm: pages touched, caches as in steady state
  int64_t calls = 0;
  auto t0 = bench::clock_type::now();
  double dt = 0;
  do {
    f();
    ++calls;
    dt = bench::seconds_since(t0);
  } while (dt < budget);
  return dt / static_cast<double>(calls);
}

} // namespace

int main(int argc, char** argv) {
  int64_t replicas = 2;
  troupe::core::arg_parser p("reduce_bandwidth",
                             "rank-ordered gradient sum against memcpy");
  p.add("replicas", "gradient buffers summed", replicas);
  if (!p.parse(argc, argv)) {
    fmt::print("{}", p.help());
    return 0;
  }
  troupe::core::set_compute_threads(1);
  for (int64_t params : {int64_t{1000000}, int64_t{10000000}}) {
    std::vector<at::Tensor> xs;
    for (int64_t r = 0; r < replicas; ++r)
      xs.push_back(torch::randn({params}));
    auto out = torch::empty({params});
    auto bytes = static_cast<double>(params) * 4;
    std::vector<char> src(static_cast<size_t>(bytes * replicas));
    std::vector<char> dst(src.size());
    std::memset(src.data(), 1, src.size());
    troupe::core::reduce_buffers pool;
    std::vector<double> pool_bw;
    std::vector<double> sum_bw;
    std::vector<double> alloc_bw;
    std::vector<double> copy_bw;
    for (int round = 0; round < 5; ++round) {
      auto t_sum = time_per_call([&] {
        troupe::core::rank_ordered_sum_into(out, xs);
      });
      auto t_alloc = time_per_call([&] {
        auto r = troupe::core::rank_ordered_sum(xs);
        (void)r;
      });
      // What the aggregator does: sum into a reused buffer, sent away by
      // handle and released by the steppers (here: at once).
      auto t_pool = time_per_call([&] {
        auto r = pool.sum(xs);
        (void)r;
      });
      auto t_copy = time_per_call([&] {
        std::memcpy(dst.data(), src.data(), src.size());
      });
      sum_bw.push_back(bytes * static_cast<double>(replicas + 1) / t_sum / 1e9);
      pool_bw.push_back(bytes * static_cast<double>(replicas + 1) / t_pool
                        / 1e9);
      alloc_bw.push_back(bytes * static_cast<double>(replicas + 1) / t_alloc
                         / 1e9);
      copy_bw.push_back(2 * bytes * static_cast<double>(replicas) / t_copy
                        / 1e9);
    }
    auto label = params >= 10000000 ? "10m" : "1m";
    fmt::print("{} parameters, {} replicas: aggregator (reused buffers) {:.2f} "
               "GB/s, sum into one buffer {:.2f} GB/s, sum into a new tensor "
               "{:.2f} GB/s, memcpy {:.2f} GB/s\n",
               params, replicas, bench::median(pool_bw), bench::median(sum_bw),
               bench::median(alloc_bw), bench::median(copy_bw));
    bench::result(fmt::format("reduce_gbps_{}", label), bench::median(pool_bw),
                  2);
    bench::result(fmt::format("reduce_new_tensor_gbps_{}", label),
                  bench::median(alloc_bw), 2);
    bench::result(fmt::format("memcpy_gbps_{}", label), bench::median(copy_bw),
                  2);
    bench::result(fmt::format("reduce_over_memcpy_{}", label),
                  bench::median(pool_bw) / bench::median(copy_bw));
    bench::result(fmt::format("reduce_new_tensor_over_memcpy_{}", label),
                  bench::median(alloc_bw) / bench::median(copy_bw));
  }
  return 0;
}
