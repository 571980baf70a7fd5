// Checkpoint files and what is kept of them; faults around checkpoints: a
// non-finite loss stops the fit or skips the step, the newest checkpoint
// stays usable.

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "boring_model.hpp"
#include "metrics_reader.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/train/checkpoint.hpp"

using namespace troupe;
using namespace troupe::test;
namespace fs = std::filesystem;

namespace {

core::trainer_options options(const std::string& dir) {
  core::trainer_options o;
  o.batch_size = 16;
  o.max_epochs = 1;
  o.log_every_n_steps = 1;
  o.seed = 3;
  o.loggers = {"csv", "jsonl"};
  o.run_dir = dir;
  o.keep_checkpoints = 0;
  o.scheduler_threads = 2;
  o.timeout_seconds = 60;
  o.capture_output = false;
  return o;
}

/// An MLP with batch normalisation whose replica `rank` returns a NaN loss
/// in its training step number `at` (counted per module).
struct poisoned_impl : torch::nn::Module {
  poisoned_impl()
      : fc1(register_module("fc1", torch::nn::Linear(8, 16))),
        bn(register_module("bn", torch::nn::BatchNorm1d(16))),
        fc2(register_module("fc2", torch::nn::Linear(16, 3))) {}

  at::Tensor forward(const at::Tensor& x) {
    return fc2->forward(torch::relu(bn->forward(fc1->forward(x))));
  }

  torch::nn::Linear fc1;
  torch::nn::BatchNorm1d bn;
  torch::nn::Linear fc2;
  int64_t calls = 0;
  int64_t index = 0; ///< which replica (order of construction)
};

core::model_def poisoned(int64_t at, int64_t rank) {
  auto made = std::make_shared<std::atomic<int64_t>>(0);
  return core::make_model<poisoned_impl>(
    [made] {
      auto m = std::make_shared<poisoned_impl>();
      m->index = (*made)++;
      return m;
    },
    [at, rank](poisoned_impl& m, const at::Tensor& x, const at::Tensor& y) {
      auto out = core::classification_outputs(m.forward(x), y);
      if (m.is_training() && ++m.calls == at && m.index == rank)
        out.loss = out.loss * std::numeric_limits<float>::quiet_NaN();
      return out;
    });
}

std::vector<at::Tensor> state_of(const torch::nn::Module& m) {
  std::vector<at::Tensor> out;
  for (const auto& p : m.parameters())
    out.push_back(p.detach().clone());
  for (const auto& b : m.buffers())
    out.push_back(b.detach().clone());
  return out;
}

} // namespace

TEST_CASE("checkpoint files: what is wrong is named", "[actors][checkpoint]") {
  core::checkpoint c;
  c.step = 42;
  c.sections["a"] = "alpha";
  c.sections["b"] = std::string("\0\1\2", 3);
  auto bytes = core::encode_checkpoint(c);
  auto back = core::decode_checkpoint(bytes, "x.ckpt");
  CHECK(back.step == 42);
  CHECK(back.sections == c.sections);
  CHECK_THROWS_WITH(back.section("c", "x.ckpt"),
                    Catch::Contains("x.ckpt") && Catch::Contains("'c'"));
  for (size_t cut : {size_t{10}, size_t{47}, size_t{48}, bytes.size() - 1})
    CHECK_THROWS_WITH(core::decode_checkpoint(bytes.substr(0, cut), "x.ckpt"),
                      Catch::Contains("x.ckpt: truncated"));
  CHECK_THROWS_WITH(core::decode_checkpoint(bytes + "z", "x.ckpt"),
                    Catch::Contains("corrupt"));
  CHECK_THROWS_WITH(core::decode_checkpoint("", "x.ckpt"),
                    Catch::Contains("truncated"));
}

TEST_CASE("--keep-checkpoints keeps the newest, 'last' names the newest",
          "[actors][checkpoint]") {
  temp_dir a;
  auto o = options(a.path());
  o.checkpoint_every_n_steps = 3;
  o.keep_checkpoints = 2;
  trainer t{o};
  auto r = t.fit(core::mlp_classifier({8, 16, 3}), small_data(512, 128, 128));
  REQUIRE(r.status == fit_status::completed);
  auto files = core::list_checkpoints(a.path() + "/checkpoints");
  REQUIRE(files.size() == 2);
  CHECK(fs::path(files[0]).filename() == core::checkpoint_file_name(30));
  CHECK(fs::path(files[1]).filename() == core::checkpoint_file_name(32));
  CHECK(read_text(a.path() + "/checkpoints/last")
        == core::checkpoint_file_name(32) + "\n");
  // No temporary file is left behind.
  for (const auto& e : fs::directory_iterator(a.path() + "/checkpoints"))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("--checkpoint-monitor keeps the best --save-top-k by the metric",
          "[actors][checkpoint]") {
  for (std::string mode : {"min", "max"}) {
    DYNAMIC_SECTION("mode " << mode) {
      temp_dir a;
      auto o = options(a.path());
      o.max_epochs = 2;
      o.val_every_n_steps = 4;
      o.keep_checkpoints = 1;
      o.checkpoint_monitor = mode == "min" ? "val/loss" : "val/acc";
      o.checkpoint_mode = mode;
      o.save_top_k = 2;
      o.lr = 0.3; // noisy enough that the best are not simply the latest
      trainer t{o};
      auto r = t.fit(core::mlp_classifier({8, 16, 3}),
                     small_data(512, 128, 128));
      REQUIRE(r.status == fit_status::completed);
      // The expected best two, from the logged values (ties: earliest).
      auto points = read_points(a.path() + "/metrics.jsonl");
      std::vector<std::pair<double, int64_t>> scored;
      for (const auto& p : points)
        if (p.name == o.checkpoint_monitor)
          scored.emplace_back(mode == "min" ? p.value : -p.value, p.step);
      REQUIRE(scored.size() == 16);
      std::stable_sort(scored.begin(), scored.end(),
                       [](const auto& x, const auto& y) {
                         return x.first < y.first;
                       });
      std::vector<std::string> expected;
      for (size_t i = 0; i < 2; ++i)
        expected.push_back(core::checkpoint_file_name(scored[i].second));
      auto best = core::read_best(a.path() + "/checkpoints");
      REQUIRE(best.size() == 2);
      CHECK(best[0].first == expected[0]);
      CHECK(best[1].first == expected[1]);
      // On disk: the two best and the newest (the last step), nothing else.
      std::set<std::string> on_disk, wanted{expected.begin(), expected.end()};
      wanted.insert(core::checkpoint_file_name(64));
      for (const auto& f : core::list_checkpoints(a.path() + "/checkpoints"))
        on_disk.insert(fs::path(f).filename().string());
      CHECK(on_disk == wanted);
      // A best checkpoint resumes like any other.
      auto c = core::read_checkpoint(a.path() + "/checkpoints/" + expected[0]);
      CHECK(c.step == scored[0].second);
    }
  }
}

TEST_CASE("--checkpoint-monitor naming a metric the validation lacks fails "
          "the fit naming both",
          "[actors][checkpoint]") {
  temp_dir a;
  auto o = options(a.path());
  o.val_every_n_steps = 4;
  o.checkpoint_monitor = "val/nope";
  trainer t{o};
  auto r = t.fit(core::mlp_classifier({8, 16, 3}), small_data(512, 128, 128));
  CHECK(r.status == fit_status::failed);
  CHECK_THAT(r.error,
             Catch::Contains("val/nope") && Catch::Contains("val/loss"));
}

TEST_CASE("--on-nonfinite-loss=skip-step: no replica applies the step, "
          "train/skipped_steps counts it",
          "[actors][checkpoint]") {
  // Replica 1's fifth step has a NaN loss: the run must end as if step 5's
  // update never happened (parameters, momentum and BatchNorm statistics
  // after step 5 are those after step 4).
  temp_dir a, b;
  auto o = options(a.path());
  o.replicas = 2;
  o.batch_size = 8;
  o.on_nonfinite_loss = "skip-step";
  o.max_steps = 5;
  trainer skipped{o};
  auto r = skipped.fit(poisoned(5, 1), small_data(512, 128, 128));
  REQUIRE(r.status == fit_status::completed);
  auto p = o;
  p.run_dir = b.path();
  p.max_steps = 4;
  trainer four{p};
  REQUIRE(four.fit(poisoned(0, 1), small_data(512, 128, 128)).status
          == fit_status::completed);
  auto x = state_of(*skipped.model()), y = state_of(*four.model());
  REQUIRE(x.size() == y.size());
  for (size_t i = 0; i < x.size(); ++i)
    CHECK(x[i].equal(y[i]));
  auto points = read_points(a.path() + "/metrics.jsonl");
  std::map<int64_t, double> skips, losses;
  for (const auto& pt : points) {
    if (pt.name == "train/skipped_steps")
      skips[pt.step] = pt.value;
    if (pt.name == "train/loss")
      losses[pt.step] = pt.value;
  }
  CHECK(skips
        == std::map<int64_t, double>{{1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 1}});
  CHECK(losses.count(4) == 1);
  CHECK(losses.count(5) == 0); // the skipped step logs no loss
  // Said on the console and in console.log.
  CHECK(read_text(a.path() + "/console.log").find("step 5 skipped")
        != std::string::npos);
}

TEST_CASE("a non-finite loss stops the fit naming step and replica; the "
          "newest checkpoint stays usable",
          "[actors][checkpoint]") {
  temp_dir a;
  auto o = options(a.path());
  o.replicas = 2;
  o.batch_size = 8;
  o.checkpoint_every_n_steps = 3;
  trainer t{o};
  auto r = t.fit(poisoned(8, 1), small_data(512, 128, 128));
  CHECK(r.status == fit_status::failed);
  CHECK_THAT(r.error,
             Catch::Contains("non-finite loss") && Catch::Contains("step 8")
               && Catch::Contains("replica 1"));
  // The failed step has no checkpoint; the one before it is whole.
  auto last = core::resolve_resume("last", a.path() + "/checkpoints");
  auto c = core::read_checkpoint(last);
  CHECK(c.step == 6);
  // And resumes: the same poison fails it at step 8 again.
  auto q = o;
  q.resume = "last";
  trainer again{q};
  auto r2 = again.fit(poisoned(2, 1), small_data(512, 128, 128));
  CHECK(r2.status == fit_status::failed);
  CHECK_THAT(r2.error, Catch::Contains("step 8"));
}
