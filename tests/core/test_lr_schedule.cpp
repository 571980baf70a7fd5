#include <catch2/catch.hpp>

#include <cmath>

#include "troupe/core/train/lr_schedule.hpp"

using namespace troupe::core;

namespace {

lr_schedule_spec spec(const char* kind, int64_t warmup) {
  lr_schedule_spec p;
  p.kind = kind;
  p.lr = 0.4;
  p.min_lr = 0.04;
  p.warmup_steps = warmup;
  p.step_size = 10;
  p.gamma = 0.5;
  p.total_steps = 100;
  return p;
}

} // namespace

TEST_CASE("warmup rises linearly from lr / W to lr at update W",
          "[core][lr_schedule]") {
  for (const char* kind : {"constant", "cosine", "linear", "step"}) {
    INFO(kind);
    auto p = spec(kind, 20);
    CHECK(scheduled_lr(p, 1) == Approx(0.4 / 20));
    CHECK(scheduled_lr(p, 10) == Approx(0.2));
    CHECK(scheduled_lr(p, 20) == Approx(0.4));
    // Right after warmup every schedule is at (or just below) its peak.
    CHECK(scheduled_lr(p, 21) <= 0.4);
    CHECK(scheduled_lr(p, 21) > 0.39);
  }
}

TEST_CASE("cosine, linear and step follow their formulas to the last update",
          "[core][lr_schedule]") {
  const double pi = std::acos(-1.0);
  auto cosine = spec("cosine", 20);
  auto linear = spec("linear", 20);
  auto step = spec("step", 20);
  for (int64_t s = 21; s <= 100; ++s) {
    INFO("update " << s);
    double t = static_cast<double>(s - 20) / 80;
    CHECK(scheduled_lr(cosine, s)
          == Approx(0.04 + 0.36 * 0.5 * (1 + std::cos(pi * t))).epsilon(1e-12));
    CHECK(scheduled_lr(linear, s) == Approx(0.4 - 0.36 * t).epsilon(1e-12));
    CHECK(scheduled_lr(step, s)
          == Approx(0.4 * std::pow(0.5, (s - 21) / 10)).epsilon(1e-12));
  }
  CHECK(scheduled_lr(cosine, 100) == Approx(0.04));
  CHECK(scheduled_lr(linear, 100) == Approx(0.04));
  CHECK(scheduled_lr(cosine, 60) == Approx(0.22)); // half-way: the mean
  // The step schedule holds lr for step_size updates after warmup.
  CHECK(scheduled_lr(step, 30) == 0.4);
  CHECK(scheduled_lr(step, 31) == 0.2);
  // Beyond the fit (asked by a user's own loop) nothing goes below min_lr.
  CHECK(scheduled_lr(cosine, 150) == Approx(0.04));
  CHECK(scheduled_lr(linear, 150) == Approx(0.04));
  // Without warmup the first update already decays.
  auto no_warmup = spec("cosine", 0);
  CHECK(scheduled_lr(no_warmup, 1) < 0.4);
  CHECK(scheduled_lr(no_warmup, 1) > 0.399);
  CHECK(scheduled_lr(spec("constant", 0), 77) == 0.4);
}

TEST_CASE("the options' schedule: none for constant without warmup",
          "[core][lr_schedule]") {
  trainer_options o;
  CHECK(!make_lr_schedule(o, 100));
  o.warmup_steps = 5;
  auto f = make_lr_schedule(o, 100);
  REQUIRE(f);
  CHECK(f(1) == Approx(0.02 / 5)); // sgd's lr
  o.optimizer = "adamw";
  o.lr_schedule = "cosine";
  o.warmup_steps = 0;
  f = make_lr_schedule(o, 100);
  REQUIRE(f);
  CHECK(f(100) == Approx(0.0).margin(1e-15)); // min_lr 0
  CHECK(lr_schedule_of(o, 100).lr == 1e-3);   // adamw's
}
