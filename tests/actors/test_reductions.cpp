// What callbacks and sinks see, checked end to end against the model's own
// records of every training micro-batch: per-replica and reduced step values,
// every window reduction, the logged learning rate.

#include <catch2/catch.hpp>

#include <map>
#include <mutex>

#include "boring_model.hpp"
#include "metrics_reader.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/trainer.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

/// Keeps every train_step_end event.
struct step_recorder : core::callback {
  std::string name() const override {
    return "step_recorder";
  }

  callback_effects on_train_step_end(const train_step_end_event& e) override {
    std::lock_guard<std::mutex> guard{mtx};
    events.push_back(e);
    return {};
  }

  std::mutex mtx;
  std::vector<train_step_end_event> events;
};

double value_of(const metric_values& xs, const std::string& name) {
  for (const auto& x : xs)
    if (x.name == name)
      return x.value;
  FAIL("no " << name);
  return 0;
}

constexpr int64_t replicas = 3;
constexpr int64_t accumulate = 2;
constexpr int64_t steps = 10; // 480 samples, global batch 48

struct fit_result {
  std::shared_ptr<micro_log> log = std::make_shared<micro_log>();
  std::shared_ptr<step_recorder> recorder = std::make_shared<step_recorder>();
  std::vector<point> points;
};

fit_result fit(const std::string& reduce, double lr) {
  temp_dir dir;
  fit_result out;
  core::trainer_options o;
  o.replicas = replicas;
  o.accumulate = accumulate;
  o.batch_size = 8;
  o.max_epochs = 1;
  o.log_every_n_steps = 3;
  o.lr = lr;
  o.loggers = {"jsonl"};
  o.run_dir = dir.path();
  if (!reduce.empty())
    o.reduce = core::parse_reductions(reduce);
  trainer t{o};
  t.add_callback(out.recorder);
  auto report = t.fit(recording_model(out.log), small_data(480));
  REQUIRE(report.status == troupe::fit_status::completed);
  REQUIRE(report.global_step == steps);
  out.points = read_points(dir / "metrics.jsonl");
  return out;
}

/// Replica r's (sum of loss x samples, samples) over step s's micro-batches,
/// from the model's own records.
std::pair<double, double> recorded(const micro_log& log, size_t r, int64_t s) {
  const auto& entries = *log.replicas.at(r);
  double sum = 0;
  double n = 0;
  for (int64_t m = 0; m < accumulate; ++m) {
    const auto& [loss, samples]
      = entries.at(static_cast<size_t>((s - 1) * accumulate + m));
    sum += loss * static_cast<double>(samples);
    n += static_cast<double>(samples);
  }
  return {sum, n};
}

} // namespace

TEST_CASE("callbacks get each replica's values and their sample-weighted "
          "reduction, as the model recorded them",
          "[actors][reductions]") {
  auto r = fit("", 0.02);
  REQUIRE(r.log->replicas.size() == replicas);
  REQUIRE(r.recorder->events.size() == steps);
  for (const auto& e : r.recorder->events) {
    INFO("step " << e.step);
    REQUIRE(e.per_replica.size() == replicas);
    double all_sum = 0;
    double all_n = 0;
    for (size_t k = 0; k < replicas; ++k) {
      auto [sum, n] = recorded(*r.log, k, e.step);
      CHECK(value_of(e.per_replica[k], "train/loss") == sum / n);
      all_sum += sum;
      all_n += n;
    }
    CHECK(value_of(e.reduced, "train/loss") == Approx(all_sum / all_n));
    // The replicas saw different samples: their values differ.
    CHECK(value_of(e.per_replica[0], "train/loss")
          != value_of(e.per_replica[1], "train/loss"));
  }
}

TEST_CASE("sum, min, max and last windows and the logged lr, end to end",
          "[actors][reductions]") {
  for (auto spec : {"sum", "min", "max", "last"}) {
    INFO("reduction " << spec);
    auto r = fit(std::string{"train/loss="} + spec, 0.035);
    std::map<int64_t, double> step_value;
    for (const auto& e : r.recorder->events)
      step_value[e.step] = value_of(e.reduced, "train/loss");
    auto logged = series(r.points, "train/loss");
    std::map<int64_t, double> expected;
    for (int64_t end = 3; end <= steps; end += 3) {
      double acc = step_value[end - 2];
      for (int64_t s = end - 1; s <= end; ++s) {
        auto x = step_value[s];
        if (std::string{spec} == "sum")
          acc += x;
        else if (std::string{spec} == "min")
          acc = std::min(acc, x);
        else if (std::string{spec} == "max")
          acc = std::max(acc, x);
        else
          acc = x;
      }
      expected[end] = acc;
    }
    REQUIRE(logged.size() == expected.size());
    for (const auto& [step, v] : expected) {
      INFO("step " << step);
      CHECK(logged.at(step) == Approx(v).epsilon(1e-12));
    }
    // The learning rate applied, at every logged step.
    auto lr = series(r.points, "lr");
    CHECK(lr.size() == expected.size());
    for (const auto& [step, v] : lr)
      CHECK(v == 0.035);
  }
}
