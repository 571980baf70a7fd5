// What computes a step: the intra-op setting reaches every thread a step runs
// on, results are bit-identical for a given setting whatever the scheduler
// threads, and config.json and the plan say which BLAS and kernel ran.

#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <mutex>
#include <set>
#include <thread>

#include <ATen/Parallel.h>

#include "boring_model.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/runtime/blas.hpp"
#include "troupe/core/util/json.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

/// OpenMP's per-thread count as the BLAS sees it, or -1 without OpenMP.
int openmp_threads() {
  using fn = int (*)();
  static auto f
    = reinterpret_cast<fn>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  return f != nullptr ? f() : -1;
}

struct seen_threads {
  std::mutex mtx;
  std::set<int> openmp;
  std::set<int> aten;
};

/// recording_model, also noting the thread counts each training step sees
/// before it computes anything.
core::model_def noting_model(std::shared_ptr<micro_log> log,
                             std::shared_ptr<seen_threads> seen) {
  auto model = recording_model(log);
  auto inner = model.step;
  model.step = [inner, seen](torch::nn::Module& m, const at::Tensor& x,
                             const at::Tensor& y) {
    if (m.is_training()) {
      // OpenMP first: at::get_num_threads() would fix this thread's count.
      auto omp = openmp_threads();
      auto aten = at::get_num_threads();
      std::lock_guard<std::mutex> guard{seen->mtx};
      seen->openmp.insert(omp);
      seen->aten.insert(aten);
    }
    return inner(m, x, y);
  };
  return model;
}

core::trainer_options options(const std::string& dir, int64_t intra,
                              int64_t scheduler) {
  core::trainer_options o;
  o.replicas = 2;
  o.batch_size = 16;
  o.max_epochs = 1;
  o.log_every_n_steps = 4;
  o.seed = 3;
  o.loggers = {"csv"};
  o.run_dir = dir;
  o.intra_op_threads = intra;
  o.scheduler_threads = scheduler;
  return o;
}

} // namespace

TEST_CASE("every step runs with the intra-op setting, on every thread",
          "[actors][compute]") {
  // Every CAF worker takes the setting when it starts: without that, a
  // worker's first steps would hand OpenBLAS the machine's core count.
  for (int64_t intra : {1, 2}) {
    temp_dir dir;
    auto seen = std::make_shared<seen_threads>();
    trainer t{options(dir.path(), intra, 2)};
    auto r = t.fit(noting_model(std::make_shared<micro_log>(), seen),
                   small_data(512));
    REQUIRE(r.status == fit_status::completed);
    CHECK(seen->aten == std::set<int>{static_cast<int>(intra)});
    if (openmp_threads() >= 0)
      CHECK(seen->openmp == std::set<int>{static_cast<int>(intra)});
  }
}

TEST_CASE("the default shares the usable cores among the replicas",
          "[actors][compute]") {
  auto cores = core::usable_cores();
  CHECK(cores >= 1);
  CHECK(cores <= static_cast<int64_t>(std::thread::hardware_concurrency()));
  core::trainer_options o;
  for (int64_t replicas : {1, 2, 3, 64}) {
    o.replicas = replicas;
    auto n = trainer{o}.intra_op_threads();
    CHECK(n >= 1);
    // Never more threads than cores in all, unless one each is too many.
    CHECK(n * replicas <= std::max(cores, replicas));
    // Not fewer than the share either.
    CHECK(n * replicas > cores - replicas);
  }
  o.intra_op_threads = 3;
  CHECK(trainer{o}.intra_op_threads() == 3);
}

TEST_CASE("two intra-op threads: bit-identical whatever the scheduler threads",
          "[actors][compute][determinism]") {
  std::vector<std::string> csv;
  std::vector<std::vector<at::Tensor>> params;
  for (int64_t scheduler : {1, 2, 3}) {
    temp_dir dir;
    auto log = std::make_shared<micro_log>();
    trainer t{options(dir.path(), 2, scheduler)};
    auto r = t.fit(recording_model(log, {8, 256, 3}), small_data(1024));
    REQUIRE(r.status == fit_status::completed);
    csv.push_back(read_text(dir / "metrics.csv"));
    std::vector<at::Tensor> ps;
    for (const auto& p : log->modules.front()->parameters())
      ps.push_back(p.detach().clone());
    params.push_back(ps);
  }
  for (size_t i = 1; i < csv.size(); ++i) {
    CHECK(csv[i] == csv[0]);
    REQUIRE(params[i].size() == params[0].size());
    for (size_t k = 0; k < params[0].size(); ++k)
      CHECK(params[i][k].equal(params[0][k]));
  }
}

TEST_CASE("config.json and the plan say what computed", "[actors][compute]") {
  temp_dir dir;
  trainer t{options(dir.path(), 2, 0)};
  auto plan = t.plan(512);
  auto line = std::find_if(plan.begin(), plan.end(), [](const auto& l) {
    return l.find("intra-op threads per replica") != std::string::npos;
  });
  REQUIRE(line != plan.end());
  CHECK(line->find(core::blas_description()) != std::string::npos);
  CHECK(line->find(", 2 intra-op") != std::string::npos);
  auto r = t.fit(recording_model(std::make_shared<micro_log>()),
                 small_data(512));
  REQUIRE(r.status == fit_status::completed);
  auto fields = core::parse_json_object(read_text(dir / "config.json"));
  auto field = [&](const char* key) {
    auto f = core::find_field(fields, key);
    REQUIRE(f != nullptr);
    return f->value;
  };
  CHECK(field("blas") == core::blas_vendor());
  CHECK(field("blas_core") == core::blas_core());
  CHECK(field("intra_op_threads") == "2");
  CHECK(field("intra_op_threads_used") == "2");
  if (core::blas_vendor() == "openblas")
    CHECK_FALSE(core::blas_core().empty());
}
