#include <catch2/catch.hpp>

#include "troupe/core/train/callback.hpp"

using namespace troupe;
using namespace troupe::core;

TEST_CASE("early stopping counts validations without improvement",
          "[core][callbacks]") {
  early_stopping es{"val/loss", 2};
  auto val = [&](int64_t step, double v) {
    return es.on_validation_end({0, step, {{"val/loss", v}}});
  };
  CHECK_FALSE(val(1, 1.0).stop);
  CHECK_FALSE(val(2, 0.5).stop);
  CHECK_FALSE(val(3, 0.6).stop);
  auto eff = val(4, 0.5); // not better than 0.5
  CHECK(eff.stop);
  CHECK(eff.reason.find("val/loss") != std::string::npos);
}

TEST_CASE("the EMA callback matches its recurrence", "[core][callbacks]") {
  ema_metric ema{0.1, "train/loss"};
  std::vector<double> xs{2.0, 1.0, 4.0, 3.0};
  double ref = 0;
  callback_effects last;
  for (size_t i = 0; i < xs.size(); ++i) {
    ref = i == 0 ? xs[i] : 0.1 * xs[i] + 0.9 * ref;
    train_step_end_event e;
    e.step = static_cast<int64_t>(i) + 1;
    e.log_step = i == 3;
    e.reduced = {{"train/loss", xs[i]}};
    last = ema.on_train_step_end(e);
    if (i < 3)
      CHECK(last.metrics.empty());
  }
  REQUIRE(last.metrics.size() == 1);
  CHECK(last.metrics[0].name == "train/loss_ema");
  CHECK(last.metrics[0].value == Approx(ref));
}

TEST_CASE("the learning-rate monitor logs at logged steps",
          "[core][callbacks]") {
  lr_monitor lr;
  train_step_end_event e;
  e.lr = 0.25;
  CHECK(lr.on_train_step_end(e).metrics.empty());
  e.log_step = true;
  auto eff = lr.on_train_step_end(e);
  REQUIRE(eff.metrics.size() == 1);
  CHECK(eff.metrics[0].name == "lr-SGD");
  CHECK(eff.metrics[0].value == 0.25);
}
