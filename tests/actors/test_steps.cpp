// The background article's scenarios: under gradient accumulation and data
// parallelism, training points land on optimizer steps, one per metric per
// step, each reducing exactly the micro-batches since the previous point.

#include <catch2/catch.hpp>

#include <set>

#include "boring_model.hpp"
#include "metrics_reader.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/stepper.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/messages/type_ids.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <thread>

using namespace troupe;
using namespace troupe::test;

namespace {

core::trainer_options scenario(const std::string& dir) {
  core::trainer_options o;
  o.replicas = 2;
  o.accumulate = 4;
  o.batch_size = 8; // G = 64
  o.max_epochs = 2;
  o.log_every_n_steps = 10;
  o.val_every_n_steps = 50;
  o.lr = 0.05;
  o.loggers = {"csv", "jsonl"};
  o.run_dir = dir;
  return o;
}

/// The sample-weighted loss of every optimizer step, reduced over the
/// micro-batches of every replica from the models' own records:
/// step s of replica r ran micro-batches [(s-1)A, sA) of its log.
std::vector<std::pair<double, double>>
step_sums(const micro_log& log, int64_t accumulate, int64_t steps) {
  std::vector<std::pair<double, double>> out;
  for (int64_t s = 1; s <= steps; ++s) {
    double sum = 0;
    double n = 0;
    for (const auto& rep : log.replicas)
      for (int64_t m = (s - 1) * accumulate; m < s * accumulate; ++m) {
        sum += (*rep)[m].first * (*rep)[m].second;
        n += (*rep)[m].second;
      }
    out.emplace_back(sum, n);
  }
  return out;
}

} // namespace

TEST_CASE("accumulate=4, two replicas: points at steps 10, 20, ... only",
          "[actors][steps]") {
  temp_dir dir;
  auto log = std::make_shared<micro_log>();
  trainer t{scenario(dir.path())};
  t.add_callback(std::make_shared<core::ema_metric>(0.1, "train/loss"));
  auto data = small_data(64 * 60 + 10); // 60 steps per epoch, 10 dropped
  auto report = t.fit(recording_model(log), data);
  REQUIRE(report.status == troupe::fit_status::completed);
  CHECK(report.global_step == 120);
  CHECK(report.samples == 120 * 64);
  REQUIRE(log->replicas.size() == 2);
  REQUIRE(log->replicas[0]->size() == 120 * 4);
  REQUIRE(log->replicas[1]->size() == 120 * 4);
  auto points = read_points(dir / "metrics.jsonl");
  // One point per metric per step.
  std::set<std::pair<int64_t, std::string>> seen;
  for (const auto& p : points)
    CHECK(seen.insert({p.step, p.name}).second);
  // Training points exactly at multiples of 10.
  auto loss = series(points, "train/loss");
  std::vector<int64_t> steps;
  for (const auto& [s, v] : loss)
    steps.push_back(s);
  std::vector<int64_t> expected_steps;
  for (int64_t s = 10; s <= 120; s += 10)
    expected_steps.push_back(s);
  CHECK(steps == expected_steps);
  CHECK(series(points, "lr").size() == expected_steps.size());
  CHECK(series(points, "train/loss_ema").size() == expected_steps.size());
  // Each value: the sample-weighted mean of the micro-batches since the
  // previous point, over both replicas.
  auto sums = step_sums(*log, 4, 120);
  for (int64_t s = 10; s <= 120; s += 10) {
    double sum = 0;
    double n = 0;
    for (int64_t k = s - 9; k <= s; ++k) {
      sum += sums[k - 1].first;
      n += sums[k - 1].second;
    }
    INFO("step " << s);
    CHECK(n == 10 * 64);
    CHECK(loss.at(s) == Approx(sum / n).epsilon(1e-12));
  }
  // The EMA callback saw every step's reduced loss: e1 = x1, then the
  // recurrence, reported at logged steps.
  auto ema = series(points, "train/loss_ema");
  double e = 0;
  for (int64_t s = 1; s <= 120; ++s) {
    double x = sums[s - 1].first / sums[s - 1].second;
    e = s == 1 ? x : 0.1 * x + 0.9 * e;
    if (s % 10 == 0) {
      INFO("step " << s);
      CHECK(ema.at(s) == Approx(e).epsilon(1e-12));
    }
  }
  // Validation every 50 steps on the same axis; epoch aggregates at the
  // epochs' last steps.
  auto val = series(points, "val/loss");
  CHECK(val.size() == 2);
  CHECK(val.count(50) == 1);
  CHECK(val.count(100) == 1);
  auto epoch_loss = series(points, "train/loss_epoch");
  REQUIRE(epoch_loss.size() == 2);
  double e0 = 0;
  double n0 = 0;
  for (int64_t k = 1; k <= 60; ++k) {
    e0 += sums[k - 1].first;
    n0 += sums[k - 1].second;
  }
  CHECK(epoch_loss.at(60) == Approx(e0 / n0).epsilon(1e-12));
  CHECK(epoch_loss.count(120) == 1);
  CHECK(series(points, "test/acc").count(120) == 1);
  for (const auto& p : points)
    CHECK(p.epoch == (p.step - 1) / 60);
}

TEST_CASE("an ema:ALPHA reduction logs the per-step EMA of the loss",
          "[actors][steps]") {
  temp_dir dir;
  auto log = std::make_shared<micro_log>();
  auto o = scenario(dir.path());
  o.max_epochs = 1;
  o.reduce["train/loss"] = core::parse_reduction("ema:0.2");
  o.reduce["train/acc"] = core::parse_reduction("max");
  trainer t{o};
  auto report = t.fit(recording_model(log), small_data(64 * 30));
  REQUIRE(report.status == troupe::fit_status::completed);
  auto points = read_points(dir / "metrics.jsonl");
  auto loss = series(points, "train/loss");
  REQUIRE(loss.size() == 3);
  auto sums = step_sums(*log, 4, 30);
  double e = 0;
  for (int64_t s = 1; s <= 30; ++s) {
    double x = sums[s - 1].first / sums[s - 1].second;
    e = s == 1 ? x : 0.2 * x + 0.8 * e;
    if (s % 10 == 0)
      CHECK(loss.at(s) == Approx(e).epsilon(1e-12));
  }
}

TEST_CASE("replicas x batch and accumulate x batch equal one big batch",
          "[actors][steps]") {
  auto run = [](int64_t replicas, int64_t accumulate, int64_t batch) {
    temp_dir dir;
    auto log = std::make_shared<micro_log>();
    core::trainer_options o;
    o.replicas = replicas;
    o.accumulate = accumulate;
    o.batch_size = batch;
    o.shuffle = false;
    o.max_steps = 20;
    o.lr = 0.1;
    o.loggers = {};
    o.run_dir = dir.path();
    trainer t{o};
    auto report = t.fit(recording_model(log), small_data(64 * 25));
    REQUIRE(report.status == troupe::fit_status::completed);
    REQUIRE(report.global_step == 20);
    std::vector<at::Tensor> params;
    for (const auto& p : log->modules.front()->parameters())
      params.push_back(p.detach().clone());
    return params;
  };
  auto big = run(1, 1, 64);
  auto dp = run(2, 1, 32);
  auto acc = run(1, 2, 32);
  REQUIRE(big.size() == dp.size());
  for (size_t i = 0; i < big.size(); ++i) {
    CHECK(torch::allclose(big[i], dp[i], 1e-4, 1e-6));
    CHECK(torch::allclose(big[i], acc[i], 1e-4, 1e-6));
  }
}

TEST_CASE("validation over unequal replica shards is sample-weighted",
          "[actors][steps]") {
  temp_dir dir;
  auto log = std::make_shared<micro_log>();
  auto o = scenario(dir.path());
  o.max_epochs = 1;
  o.val_every_n_steps = 0; // at the epoch's end, after the last update
  trainer t{o};
  auto data = small_data(64 * 5, /*val=*/255, /*test=*/101);
  auto report = t.fit(recording_model(log), data);
  REQUIRE(report.status == troupe::fit_status::completed);
  // Shards of 127 and 128 samples; the reference is one pass over all 255
  // with the final parameters.
  auto& m = *log->modules.front();
  m.eval();
  torch::NoGradGuard no_grad;
  auto ref = core::classification_outputs(m.forward(data.val.inputs),
                                          data.val.targets);
  auto test_ref = core::classification_outputs(m.forward(data.test.inputs),
                                               data.test.targets);
  auto points = read_points(dir / "metrics.jsonl");
  CHECK(series(points, "val/loss").at(5) == Approx(ref.loss.item<double>()));
  CHECK(series(points, "val/acc").at(5) == Approx(ref.metrics[0].value));
  CHECK(series(points, "test/loss").at(5)
        == Approx(test_ref.loss.item<double>()));
  CHECK(series(points, "test/acc").at(5) == Approx(test_ref.metrics[0].value));
}

TEST_CASE("a stepper evaluates a step only after applying it",
          "[actors][steps]") {
  // The coordinator may ask for the test as soon as it has the last step's
  // summary, before the stepper got that step's reduced gradient: the
  // stepper holds the request until the step is applied.
  caf::actor_system_config cfg;
  cfg.add_message_types<caf::id_block::troupe>();
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  core::trainer_options o;
  o.batch_size = 16;
  auto data = std::make_shared<const core::data_module>(small_data(64));
  actors::stepper_config sc;
  sc.sched = core::schedule::make(o, data->train.size());
  auto log = std::make_shared<micro_log>();
  sc.model = recording_model(log);
  torch::manual_seed(0);
  sc.module = sc.model.make();
  sc.data = data;
  sc.make_optimizer = core::make_optimizer(o);
  // This test's thread plays the aggregator and the coordinator.
  sc.aggregator = caf::actor_cast<actors::aggregator_actor>(self);
  sc.coordinator = caf::actor_cast<actors::failure_sink_actor>(self);
  auto stepper = actors::spawn_stepper(sys, sc);
  step_batch b;
  b.step = 1;
  b.micro.push_back(
    micro_batch{tensor_payload{data->train.inputs.slice(0, 0, 16)},
                tensor_payload{data->train.targets.slice(0, 0, 16)}});
  self->send(stepper, std::move(b));
  auto before = core::state_digest(*sc.module);
  self->receive([&](contribution& c) -> reduced_gradient {
    // The test request overtakes the answer.
    self->send(stepper, eval_request{eval_kind::test, 1});
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return reduced_gradient{1, tensor_payload{c.grad.tensor.clone()}};
  });
  uint64_t evaluated = 0;
  self->receive(
    [&](eval_contribution& e) {
      CHECK(e.kind == eval_kind::test);
      CHECK(e.step == 1);
      evaluated = e.param_digest;
    },
    [&](actor_failure& f) {
      FAIL(f.actor << ": " << f.what);
    });
  auto after = core::state_digest(*sc.module);
  CHECK(after != before);    // the step changed the parameters
  CHECK(evaluated == after); // and the test saw them changed
  self->send_exit(stepper, caf::exit_reason::user_shutdown);
}
