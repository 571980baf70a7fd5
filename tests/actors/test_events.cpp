// Callbacks: the documented event order, effects logged at the event's step,
// stop requests that take effect at a step fixed by the request.

#include <catch2/catch.hpp>

#include <mutex>

#include "boring_model.hpp"
#include "metrics_reader.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/trainer.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

/// Records the events it sees; optionally requests a stop at one step and
/// logs a metric of its own at every step.
struct recorder : core::callback {
  std::vector<std::string> seen;
  int64_t stop_at = -1;

  std::string name() const override {
    return "recorder";
  }
  callback_effects on_fit_start(const fit_start_event& e) override {
    seen.push_back("fit_start total=" + std::to_string(e.total_steps));
    return {};
  }
  callback_effects on_train_step_end(const train_step_end_event& e) override {
    seen.push_back("train_step_end " + std::to_string(e.step)
                   + (e.log_step ? " logged" : ""));
    callback_effects eff;
    eff.metrics.push_back({"recorder/step", static_cast<double>(e.step)});
    if (e.step == stop_at) {
      eff.stop = true;
      eff.reason = "test";
    }
    return eff;
  }
  callback_effects on_validation_end(const validation_end_event& e) override {
    seen.push_back("validation_end " + std::to_string(e.step));
    return {};
  }
  callback_effects on_epoch_end(const epoch_end_event& e) override {
    seen.push_back("epoch_end " + std::to_string(e.epoch) + " at "
                   + std::to_string(e.step));
    return {};
  }
  callback_effects on_fit_end(const fit_end_event& e) override {
    seen.push_back("fit_end " + std::to_string(e.step) + " "
                   + to_string(e.status));
    return {};
  }
};

core::trainer_options options(const std::string& dir) {
  core::trainer_options o;
  o.batch_size = 16;
  o.max_epochs = 2;
  o.log_every_n_steps = 2;
  o.val_every_n_steps = 3;
  o.loggers = {"csv", "jsonl"};
  o.run_dir = dir;
  return o;
}

} // namespace

TEST_CASE("callbacks see the documented event order", "[actors][events]") {
  temp_dir dir;
  auto rec = std::make_shared<recorder>();
  trainer t{options(dir.path())};
  t.add_callback(rec);
  auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                      small_data(64)); // 4 steps per epoch, 8 in all
  REQUIRE(report.status == troupe::fit_status::completed);
  std::vector<std::string> expected{
    "fit_start total=8", "train_step_end 1",    "train_step_end 2 logged",
    "train_step_end 3",  "validation_end 3",    "train_step_end 4 logged",
    "epoch_end 0 at 4",  "train_step_end 5",    "train_step_end 6 logged",
    "validation_end 6",  "train_step_end 7",    "train_step_end 8 logged",
    "epoch_end 1 at 8",  "fit_end 8 completed",
  };
  CHECK(rec->seen == expected);
  // Effects are logged at the event's step, every step.
  auto mine = series(read_points(dir / "metrics.jsonl"), "recorder/step");
  REQUIRE(mine.size() == 8);
  for (const auto& [step, value] : mine)
    CHECK(value == static_cast<double>(step));
}

TEST_CASE("a stop answered to step s ends training after step s + 1",
          "[actors][events]") {
  for (int64_t threads : {1, 2}) {
    for (int64_t stop_at : {int64_t{3}, int64_t{8}}) {
      temp_dir dir;
      auto rec = std::make_shared<recorder>();
      rec->stop_at = stop_at;
      auto o = options(dir.path());
      o.max_epochs = 5;
      o.scheduler_threads = threads;
      trainer t{o};
      t.add_callback(rec);
      auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                          small_data(64));
      INFO("threads " << threads << ", stop at " << stop_at);
      CHECK(report.status == troupe::fit_status::stopped);
      CHECK(report.global_step == stop_at + 1);
      CHECK(rec->seen.back()
            == "fit_end " + std::to_string(stop_at + 1) + " stopped");
      CHECK(series(read_points(dir / "metrics.jsonl"), "recorder/step").size()
            == static_cast<size_t>(stop_at + 1));
      CHECK(read_text(dir / "summary.json").find("\"status\": \"stopped\"")
            != std::string::npos);
    }
  }
}

TEST_CASE("early stopping stops a run that does not improve",
          "[actors][events]") {
  temp_dir dir;
  auto o = options(dir.path());
  o.max_epochs = 50;
  o.lr = 1e-9; // nothing improves
  o.val_every_n_steps = 0;
  trainer t{o};
  t.add_callback(std::make_shared<core::early_stopping>("val/loss", 2));
  auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                      small_data(64));
  CHECK(report.status == troupe::fit_status::stopped);
  CHECK(report.global_step < 50 * 4);
}

TEST_CASE("logger credits bound the queue, nothing is dropped",
          "[actors][events]") {
  auto go = [](int64_t credits, int64_t& peak) {
    temp_dir dir;
    auto o = options(dir.path());
    o.logger_credits = credits;
    o.log_every_n_steps = 1;
    trainer t{o};
    auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                        small_data(256));
    REQUIRE(report.status == troupe::fit_status::completed);
    peak = report.peak_log_queue;
    return read_text(dir / "metrics.csv");
  };
  int64_t peak_one = 0;
  int64_t peak_many = 0;
  auto one = go(1, peak_one);
  CHECK(peak_one == 1);
  CHECK(one == go(3, peak_many));
  CHECK(peak_many >= 1);
  CHECK(peak_many <= 3);
  CHECK(std::count(one.begin(), one.end(), '\n') == 1 + 32);
}

TEST_CASE("exported parameters are replica 0's, before and after",
          "[actors][events]") {
  temp_dir dir;
  auto log = std::make_shared<micro_log>();
  auto o = options(dir / "run");
  o.export_params = dir / "params";
  o.replicas = 2;
  o.batch_size = 8;
  trainer t{o};
  // Keep a copy of replica 0 as built, before any update.
  auto model = recording_model(log);
  auto make = model.make;
  std::vector<at::Tensor> built;
  model.make = [make, &built]() {
    auto m = make();
    if (built.empty())
      for (const auto& p : m->parameters())
        built.push_back(p.detach().clone());
    return m;
  };
  REQUIRE(t.fit(model, small_data(64)).status == troupe::fit_status::completed);
  auto load = [&](const std::string& file) {
    auto m = std::make_shared<core::mlp_impl>(std::vector<int64_t>{8, 16, 3});
    torch::load(m, dir / ("params/" + file));
    return m;
  };
  auto init = load("params_init.pt");
  auto final = load("params_final.pt");
  auto trained = log->modules.front()->parameters();
  auto fp = final->parameters();
  auto ip = init->parameters();
  REQUIRE(fp.size() == trained.size());
  REQUIRE(built.size() == ip.size());
  for (size_t i = 0; i < fp.size(); ++i) {
    CHECK(fp[i].equal(trained[i]));
    CHECK(ip[i].equal(built[i]));
    CHECK_FALSE(ip[i].equal(trained[i]));
  }
}
