// Checkpoints and exact resume: a run resumed from any checkpoint ends with
// the parameters and the metrics files of the run that never stopped, bit
// for bit; the records the first run wrote after the checkpoint are cut
// from every sink. Bad checkpoints are refused before anything changes.

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>

#include "boring_model.hpp"
#include "temp_dir.hpp"
#include "tfevents_reader.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/train/checkpoint.hpp"
#include "troupe/core/train/layers.hpp"
#include "troupe/core/util/errors.hpp"

using namespace troupe;
using namespace troupe::test;
namespace fs = std::filesystem;

namespace {

/// An MLP with batch normalisation (running statistics: buffers) and
/// dropout (draws from the replica's generator).
struct bn_mlp_impl : torch::nn::Module {
  bn_mlp_impl()
      : fc1(register_module("fc1", torch::nn::Linear(8, 16))),
        bn(register_module("bn", torch::nn::BatchNorm1d(16))),
        drop(register_module("drop", core::dropout(0.2))),
        fc2(register_module("fc2", torch::nn::Linear(16, 3))) {}

  at::Tensor forward(const at::Tensor& x) {
    auto h = torch::relu(bn->forward(fc1->forward(x)));
    return fc2->forward(drop->forward(h));
  }

  torch::nn::Linear fc1;
  torch::nn::BatchNorm1d bn;
  core::dropout drop;
  torch::nn::Linear fc2;
};

core::model_def bn_mlp() {
  return core::make_model<bn_mlp_impl>(
    [] {
      return std::make_shared<bn_mlp_impl>();
    },
    [](bn_mlp_impl& m, const at::Tensor& x, const at::Tensor& y) {
      return core::classification_outputs(m.forward(x), y);
    });
}

/// Raises SIGINT once, after the step given, when armed (same name either
/// way: a resumed fit needs the callbacks of the checkpoint).
class interrupter : public core::callback {
public:
  explicit interrupter(int64_t at) : at_(at) {}

  std::string name() const override {
    return "interrupter";
  }

  callback_effects on_train_step_end(const train_step_end_event& e) override {
    if (at_ > 0 && e.step == at_)
      std::raise(SIGINT);
    return {};
  }

private:
  int64_t at_;
};

struct scenario {
  std::string name;
  std::function<void(core::trainer_options&)> adjust;
  core::model_def model;
  /// The callbacks of one fit (fresh objects each time).
  std::function<std::vector<core::callback_ptr>()> callbacks;
};

struct outputs {
  fit_report report;
  std::string csv;
  std::string jsonl;
  /// (step, tag, value) of every scalar of the events file, in order.
  std::vector<std::tuple<int64_t, std::string, float>> scalars;
  std::vector<at::Tensor> state;
};

core::trainer_options base_options(const std::string& dir) {
  core::trainer_options o;
  o.batch_size = 16;
  o.max_epochs = 3;
  o.log_every_n_steps = 3;
  o.val_every_n_steps = 0;
  o.seed = 13;
  o.loggers = {"csv", "jsonl", "tensorboard"};
  o.run_dir = dir;
  o.checkpoint_every_n_steps = 8;
  o.keep_checkpoints = 0;
  o.scheduler_threads = 2;
  o.timeout_seconds = 60;
  o.capture_output = false;
  return o;
}

outputs collect(const fit_report& r, const std::string& dir,
                const torch::nn::Module& m) {
  outputs out;
  out.report = r;
  out.csv = read_text(dir + "/metrics.csv");
  out.jsonl = read_text(dir + "/metrics.jsonl");
  for (const auto& e : read_tf_events(events_file(dir)))
    for (const auto& v : e.values)
      if (v.has_simple_value)
        out.scalars.emplace_back(e.step, v.tag, v.simple_value);
  for (const auto& p : m.parameters())
    out.state.push_back(p.detach().clone());
  for (const auto& b : m.buffers())
    out.state.push_back(b.detach().clone());
  return out;
}

outputs fit(const scenario& sc, const std::string& dir,
            const std::string& resume = {}, int64_t interrupt_at = 0) {
  auto o = base_options(dir);
  if (sc.adjust)
    sc.adjust(o);
  o.resume = resume;
  trainer t{o};
  if (sc.callbacks)
    for (auto& cb : sc.callbacks())
      t.add_callback(cb);
  t.add_callback(std::make_shared<interrupter>(interrupt_at));
  auto r = t.fit(sc.model, small_data(512, 128, 128));
  return collect(r, dir, *t.model());
}

/// Resumes a copy of the run in `whole_dir` (everything it wrote after the
/// checkpoint included, as a run killed later would have left it) from
/// its checkpoint of `step`, in `copy`.
outputs resume_copy(const scenario& sc, const std::string& whole_dir,
                    const std::string& copy, int64_t step) {
  fs::copy(whole_dir, copy,
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  auto ckpt = copy + "/checkpoints/" + core::checkpoint_file_name(step);
  REQUIRE(fs::exists(ckpt));
  return fit(sc, copy, ckpt);
}

void check_same(const outputs& a, const outputs& b) {
  CHECK(b.report.status == a.report.status);
  CHECK(b.report.global_step == a.report.global_step);
  CHECK(b.report.samples == a.report.samples);
  CHECK(b.report.sink_errors.empty());
  // summary.json's last values too.
  CHECK((b.report.last == a.report.last));
  CHECK(b.csv == a.csv);
  CHECK(b.jsonl == a.jsonl);
  CHECK((b.scalars == a.scalars));
  REQUIRE(b.state.size() == a.state.size());
  for (size_t i = 0; i < a.state.size(); ++i)
    CHECK(b.state[i].equal(a.state[i]));
}

/// The files of `dir` and their bytes.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename() != ".troupe.lock")
      out[fs::relative(e.path(), dir).string()] = read_text(e.path().string());
  return out;
}

std::vector<scenario> scenarios() {
  auto mlp = core::mlp_classifier({8, 16, 3});
  std::vector<scenario> xs;
  xs.push_back({"sgd, accumulation, an EMA reduction and an EMA callback",
                [](core::trainer_options& o) {
                  o.accumulate = 2;
                  o.batch_size = 8;
                  o.reduce = core::parse_reductions("train/loss=ema:0.3");
                },
                mlp,
                [] {
                  return std::vector<core::callback_ptr>{
                    std::make_shared<core::ema_metric>(0.2, "train/loss")};
                }});
  xs.push_back({"2 replicas, batch norm buffers and dropout",
                [](core::trainer_options& o) {
                  o.replicas = 2;
                  o.batch_size = 8;
                  o.val_every_n_steps = 5;
                },
                bn_mlp(), nullptr});
  xs.push_back({"adamw with warmup and a cosine schedule",
                [](core::trainer_options& o) {
                  o.optimizer = "adamw";
                  o.lr_schedule = "cosine";
                  o.warmup_steps = 10;
                  o = core::with_optimizer_defaults(o);
                },
                mlp, nullptr});
  xs.push_back({"rmsprop with momentum",
                [](core::trainer_options& o) {
                  o.optimizer = "rmsprop";
                  o.momentum = 0.5;
                  o = core::with_optimizer_defaults(o);
                },
                mlp, nullptr});
  xs.push_back(
    {"early stopping (a callback with state) that stops the fit",
     [](core::trainer_options& o) {
       o.val_every_n_steps = 6;
     },
     mlp,
     [] {
       // Nothing improves by 10 after the first validation: a
       // stop at the third (step 18). A callback that forgot
       // its state on resume would stop later.
       return std::vector<core::callback_ptr>{
         std::make_shared<core::early_stopping>("val/loss", 2, 10.0)};
     }});
  return xs;
}

} // namespace

TEST_CASE("a fit resumed from any checkpoint ends as if it never stopped",
          "[actors][resume]") {
  for (const auto& sc : scenarios()) {
    DYNAMIC_SECTION(sc.name) {
      temp_dir a;
      auto whole = fit(sc, a.path());
      REQUIRE(whole.report.status != fit_status::failed);
      if (sc.name.rfind("early", 0) == 0) {
        CHECK(whole.report.status == fit_status::stopped);
        CHECK(whole.report.global_step == 19);
      }
      auto files = core::list_checkpoints(a.path() + "/checkpoints");
      REQUIRE(files.size() >= 2);
      // Inside the first epoch (step 8), at the first epoch's end (step 32
      // closes it), and the end of the fit.
      for (int64_t step : {int64_t{8}, int64_t{32}, whole.report.global_step}) {
        if (step > whole.report.global_step)
          continue;
        INFO("resumed after step " << step);
        temp_dir b;
        auto resumed = resume_copy(sc, a.path(), b.path(), step);
        check_same(whole, resumed);
        // The checkpoints after the resumed step were written again.
        CHECK(core::list_checkpoints(b.path() + "/checkpoints").size()
              == files.size());
      }
    }
  }
}

TEST_CASE("the checkpoint holds the state of its step however far the "
          "steppers ran ahead",
          "[actors][resume]") {
  // With 4 steps of prefetch the steppers apply up to three steps past the
  // one the coordinator completes; each checkpoint still resumes exactly.
  scenario sc{"ahead",
              [](core::trainer_options& o) {
                o.steps_ahead = 4;
                o.checkpoint_every_n_steps = 5;
                o.max_epochs = 1;
              },
              core::mlp_classifier({8, 16, 3}), nullptr};
  temp_dir a;
  auto whole = fit(sc, a.path());
  REQUIRE(whole.report.status == fit_status::completed);
  for (int64_t step : {5, 10, 20}) {
    INFO("resumed after step " << step);
    temp_dir b;
    check_same(whole, resume_copy(sc, a.path(), b.path(), step));
  }
}

TEST_CASE("SIGINT finishes the step, writes a checkpoint and --resume=last "
          "continues to the same end",
          "[actors][resume]") {
  scenario sc{"interrupted",
              [](core::trainer_options& o) {
                o.checkpoint_every_n_steps = 0;
              },
              core::mlp_classifier({8, 16, 3}),
              [] {
                return std::vector<core::callback_ptr>{
                  std::make_shared<core::ema_metric>(0.2, "train/loss")};
              }};
  temp_dir a, b;
  auto whole = fit(sc, a.path());
  REQUIRE(whole.report.status == fit_status::completed);
  auto stopped = fit(sc, b.path(), {}, /*interrupt_at=*/20);
  CHECK(stopped.report.status == fit_status::stopped);
  CHECK(stopped.report.interrupted);
  // The signal reaches the coordinator through the watcher thread a few
  // (fast) steps after step 20; then the steps already permitted run.
  auto last = stopped.report.global_step;
  INFO("stopped after step " << last);
  CHECK((last > 20 && last < 96));
  auto files = core::list_checkpoints(b.path() + "/checkpoints");
  REQUIRE(files.size() == 1);
  CHECK(core::read_checkpoint(files.front()).step == last);
  // The test pass was skipped.
  CHECK(stopped.jsonl.find("test/") == std::string::npos);
  auto resumed = fit(sc, b.path(), "last");
  check_same(whole, resumed);
}

TEST_CASE("a bad checkpoint is refused before anything in the run "
          "directory changes",
          "[actors][resume]") {
  scenario sc{"base",
              [](core::trainer_options& o) {
                o.max_epochs = 1;
              },
              core::mlp_classifier({8, 16, 3}), nullptr};
  temp_dir a;
  auto whole = fit(sc, a.path());
  REQUIRE(whole.report.status == fit_status::completed);
  auto dir = a.path() + "/checkpoints";
  auto file = dir + "/" + core::checkpoint_file_name(16);
  auto good = read_text(file);
  auto before = snapshot(a.path());
  auto refuse = [&](const std::string& bytes, const std::string& resume,
                    const std::string& expected,
                    std::function<void(core::trainer_options&)> adjust = {},
                    core::model_def model = core::mlp_classifier({8, 16, 3})) {
    if (!bytes.empty()) {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out << bytes;
    }
    auto changed = snapshot(a.path());
    auto o = base_options(a.path());
    o.max_epochs = 1;
    if (adjust)
      adjust(o);
    o.resume = resume;
    trainer t{o};
    t.add_callback(std::make_shared<interrupter>(0));
    try {
      t.fit(model, small_data(512, 128, 128));
      FAIL("the resume was accepted");
    } catch (const std::exception& e) {
      INFO(e.what());
      CHECK(std::string{e.what()}.find(expected) != std::string::npos);
    }
    CHECK(snapshot(a.path()) == changed);
    std::ofstream restore(file, std::ios::binary | std::ios::trunc);
    restore << good;
  };
  SECTION("truncated") {
    refuse(good.substr(0, good.size() - 100), file, "truncated");
    refuse(good.substr(0, 20), file, "truncated");
  }
  SECTION("corrupt") {
    auto bad = good;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x10);
    refuse(bad, file, "checksum");
    auto head = good;
    head[20] = static_cast<char>(head[20] ^ 1);
    refuse(head, file, "checksum");
    refuse("not a checkpoint at all, but long enough for a header.....", file,
           "not a troupe checkpoint");
  }
  SECTION("another format version") {
    auto other = good;
    other[8] = 2;
    refuse(other, file, "format version 2");
  }
  SECTION("fixed options that differ") {
    refuse({}, file, "--lr: 0.02 in the checkpoint, 0.03 in this run",
           [](core::trainer_options& o) {
             o.lr = 0.03;
           });
    refuse({}, file, "--replicas", [](core::trainer_options& o) {
      o.replicas = 2;
    });
    refuse({}, file, "--batch-size", [](core::trainer_options& o) {
      o.batch_size = 32;
    });
    refuse({}, file, "--optimizer", [](core::trainer_options& o) {
      o.optimizer = "adam";
      o.momentum.reset();
      o = core::with_optimizer_defaults(o);
    });
  }
  SECTION("another model") {
    refuse({}, file, "the checkpoint's model has", {},
           core::mlp_classifier({8, 32, 3}));
  }
  SECTION("the file it names, or 'last', is missing") {
    refuse({}, dir + "/step-000000000999.ckpt", "no such checkpoint");
    fs::rename(dir + "/last", dir + "/last.away");
    refuse({}, "last", "'last' is missing");
    fs::rename(dir + "/last.away", dir + "/last");
  }
  SECTION("a sink's file was cut") {
    auto csv = read_text(a.path() + "/metrics.csv");
    {
      std::ofstream out(a.path() + "/metrics.csv", std::ios::trunc);
      out << csv.substr(0, 30);
    }
    refuse({}, file, "metrics.csv");
    std::ofstream out(a.path() + "/metrics.csv", std::ios::trunc);
    out << csv;
  }
  CHECK(snapshot(a.path()) == before);
}
