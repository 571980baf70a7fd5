// Bad input and failures during training: a clear error naming step,
// replica, callback or actor; a clean stop; nothing already written lost.

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>

#include <caf/all.hpp>

#include "boring_model.hpp"
#include "metrics_reader.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/util/errors.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

core::trainer_options small_run(const std::string& dir) {
  core::trainer_options o;
  o.replicas = 2;
  o.batch_size = 16;
  o.max_epochs = 3;
  o.log_every_n_steps = 1;
  o.loggers = {"csv", "jsonl"};
  o.run_dir = dir;
  o.timeout_seconds = 60;
  return o;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Throws from on_train_step_end at `at`.
struct throwing_callback : core::callback {
  int64_t at;
  explicit throwing_callback(int64_t at) : at(at) {}
  std::string name() const override {
    return "thrower";
  }
  callback_effects on_train_step_end(const train_step_end_event& e) override {
    if (e.step == at)
      throw std::runtime_error("kaboom");
    return {};
  }
};

} // namespace

TEST_CASE("a non-finite loss names step and replica, logs are flushed",
          "[actors][failures]") {
  temp_dir dir;
  auto log = std::make_shared<micro_log>();
  trainer t{small_run(dir.path())};
  // Replica 1's 9th micro-batch (step 9) returns NaN.
  auto report = t.fit(recording_model(log, {8, 16, 3}, 9, 1), small_data(1024));
  CHECK(report.status == troupe::fit_status::failed);
  INFO(report.error);
  CHECK(contains(report.error, "non-finite loss"));
  CHECK(contains(report.error, "step 9"));
  CHECK(contains(report.error, "replica 1"));
  CHECK(report.global_step == 8);
  auto points = read_points(dir / "metrics.jsonl");
  auto loss = series(points, "train/loss");
  REQUIRE(loss.size() == 8);
  CHECK(loss.rbegin()->first == 8);
  auto csv = read_text(dir / "metrics.csv");
  CHECK(contains(csv, "\n8,0,"));
  auto summary = read_text(dir / "summary.json");
  CHECK(contains(summary, "\"status\": \"failed\""));
  CHECK(contains(summary, "replica 1"));
  CHECK(contains(summary, "\"global_step\": 8"));
}

TEST_CASE("a throwing callback names itself and the event",
          "[actors][failures]") {
  temp_dir dir;
  trainer t{small_run(dir.path())};
  t.add_callback(std::make_shared<throwing_callback>(5));
  auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                      small_data(1024));
  CHECK(report.status == troupe::fit_status::failed);
  INFO(report.error);
  CHECK(contains(report.error, "thrower"));
  CHECK(contains(report.error, "on_train_step_end"));
  CHECK(contains(report.error, "step 5"));
  CHECK(contains(report.error, "kaboom"));
  CHECK(report.global_step == 4);
  CHECK(report.samples == 4 * 32); // completed steps only
  auto loss = series(read_points(dir / "metrics.jsonl"), "train/loss");
  CHECK(loss.size() == 4);
  CHECK(contains(read_text(dir / "summary.json"), "thrower"));
}

TEST_CASE("a stepper that dies is detected, no hang", "[actors][failures]") {
  temp_dir dir;
  auto victim = std::make_shared<caf::actor>();
  std::atomic<int> calls{0};
  auto model = recording_model(std::make_shared<micro_log>());
  auto inner = model.step;
  model.step = [&calls, victim, inner](torch::nn::Module& m,
                                       const at::Tensor& x,
                                       const at::Tensor& y) {
    if (m.is_training() && ++calls == 12)
      caf::anon_send_exit(*victim, caf::exit_reason::kill);
    return inner(m, x, y);
  };
  trainer t{small_run(dir.path())};
  t.on_spawn([victim](const std::string& name, const caf::actor& a) {
    if (name == "stepper[1]")
      *victim = a;
  });
  auto report = t.fit(model, small_data(1024));
  CHECK(report.status == troupe::fit_status::failed);
  INFO(report.error);
  CHECK(contains(report.error, "stepper[1]"));
  CHECK(contains(report.error, "terminated"));
  CHECK(contains(read_text(dir / "summary.json"), "stepper[1]"));
}

TEST_CASE("an unwritable run directory fails before training",
          "[actors][failures]") {
  temp_dir dir;
  {
    std::ofstream f(dir / "plainfile");
    f << "x";
  }
  auto log = std::make_shared<micro_log>();
  trainer t{small_run(dir / "plainfile/run")};
  try {
    t.fit(recording_model(log), small_data(256));
    FAIL("accepted");
  } catch (const core::output_error& e) {
    CHECK(contains(e.what(), dir / "plainfile/run"));
  }
  CHECK(log->modules.empty()); // nothing was built, nothing trained
}

TEST_CASE("invalid options fail before training", "[actors][failures]") {
  temp_dir dir;
  auto o = small_run(dir.path());
  o.accumulate = 0;
  trainer t{o};
  CHECK_THROWS_AS(t.fit(recording_model(std::make_shared<micro_log>()),
                        small_data(256)),
                  core::config_error);
  CHECK_FALSE(std::filesystem::exists(dir / "metrics.csv"));
}

TEST_CASE("an existing run is not overwritten by accident",
          "[actors][failures]") {
  temp_dir dir;
  auto o = small_run(dir.path());
  o.max_epochs = 1;
  {
    trainer t{o};
    REQUIRE(
      t.fit(recording_model(std::make_shared<micro_log>()), small_data(256))
        .status
      == troupe::fit_status::completed);
  }
  auto before = read_text(dir / "metrics.csv");
  trainer again{o};
  CHECK_THROWS_AS(again.fit(recording_model(std::make_shared<micro_log>()),
                            small_data(256)),
                  core::output_error);
  CHECK(read_text(dir / "metrics.csv") == before);
}

namespace {

/// Logs a metric the coordinator already logs at the same step.
struct duplicate_logger : core::callback {
  std::string name() const override {
    return "duplicator";
  }
  callback_effects on_train_step_end(const train_step_end_event& e) override {
    callback_effects eff;
    if (e.log_step)
      eff.metrics.push_back({"train/loss", 0.0});
    return eff;
  }
};

} // namespace

TEST_CASE("a callback cannot add a second point for a metric at one step",
          "[actors][failures]") {
  temp_dir dir;
  auto o = small_run(dir.path());
  o.log_every_n_steps = 4;
  trainer t{o};
  t.add_callback(std::make_shared<duplicate_logger>());
  auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                      small_data(1024));
  CHECK(report.status == troupe::fit_status::failed);
  INFO(report.error);
  CHECK(contains(report.error, "duplicator"));
  CHECK(contains(report.error, "'train/loss' at step 4"));
  // Nothing of the failed step reached the files.
  CHECK(series(read_points(dir / "metrics.jsonl"), "train/loss").empty());
}

namespace {

/// Logs `cb/x` at every step and again at fit end (the last step).
struct twice_at_the_end : core::callback {
  std::string name() const override {
    return "twice";
  }
  callback_effects on_train_step_end(const train_step_end_event& e) override {
    callback_effects eff;
    eff.metrics.push_back({"cb/x", static_cast<double>(e.step)});
    return eff;
  }
  callback_effects on_fit_end(const fit_end_event&) override {
    callback_effects eff;
    eff.metrics.push_back({"cb/x", -1.0});
    return eff;
  }
};

} // namespace

TEST_CASE("a fit-end effect cannot log a metric again at the last step",
          "[actors][failures]") {
  temp_dir dir;
  auto o = small_run(dir.path());
  o.max_steps = 6;
  trainer t{o};
  t.add_callback(std::make_shared<twice_at_the_end>());
  auto report = t.fit(recording_model(std::make_shared<micro_log>()),
                      small_data(1024));
  CHECK(report.status == troupe::fit_status::failed);
  INFO(report.error);
  CHECK(contains(report.error, "'cb/x' at step 6"));
  auto xs = series(read_points(dir / "metrics.jsonl"), "cb/x");
  CHECK(xs.size() == 6);
  CHECK(xs.at(6) == 6.0);
}

TEST_CASE("an export directory that cannot be created fails before training",
          "[actors][failures]") {
  temp_dir dir;
  {
    std::ofstream f(dir / "plainfile");
    f << "x";
  }
  auto o = small_run(dir / "run");
  o.export_params = dir / "plainfile/params";
  auto log = std::make_shared<micro_log>();
  trainer t{o};
  CHECK_THROWS_WITH(t.fit(recording_model(log), small_data(256)),
                    Catch::Contains("--export-params"));
  CHECK(log->modules.empty());
}

TEST_CASE("with several replicas, draws from the global generator are refused",
          "[actors][failures]") {
  temp_dir dir;
  auto model = recording_model(std::make_shared<micro_log>());
  auto inner = model.step;
  model.step = [inner](torch::nn::Module& m, const at::Tensor& x,
                       const at::Tensor& y) {
    // torch::dropout draws from LibTorch's one global generator.
    return inner(m, torch::dropout(x, 0.1, m.is_training()), y);
  };
  trainer t{small_run(dir.path())};
  auto report = t.fit(model, small_data(512));
  CHECK(report.status == troupe::fit_status::failed);
  INFO(report.error);
  CHECK(contains(report.error, "global random generator"));
  CHECK(contains(report.error, "replica_generator"));
}

TEST_CASE("Ctrl-C stops after the current step with every sink flushed",
          "[actors][failures]") {
  temp_dir dir;
  auto o = small_run(dir.path());
  o.max_epochs = 20;
  auto model = recording_model(std::make_shared<micro_log>());
  auto inner = model.step;
  auto calls = std::make_shared<std::atomic<int>>(0);
  model.step = [inner, calls](torch::nn::Module& m, const at::Tensor& x,
                              const at::Tensor& y) {
    if (m.is_training() && ++*calls == 10)
      std::raise(SIGINT);
    return inner(m, x, y);
  };
  trainer t{o};
  auto report = t.fit(model, small_data(1024));
  CHECK(report.status == troupe::fit_status::stopped);
  CHECK(report.interrupted);
  CHECK(report.global_step < 20 * 32);
  auto loss = series(read_points(dir / "metrics.jsonl"), "train/loss");
  REQUIRE(!loss.empty());
  CHECK(loss.rbegin()->first == report.global_step);
  CHECK(contains(read_text(dir / "metrics.csv"),
                 "\n" + std::to_string(report.global_step) + ","));
  auto summary = read_text(dir / "summary.json");
  CHECK(contains(summary, "\"status\": \"stopped\""));
  CHECK(contains(summary, "interrupted"));
}
