#include <catch2/catch.hpp>

#include <set>

#include "troupe/core/train/schedule.hpp"
#include "troupe/core/util/errors.hpp"

using namespace troupe::core;

TEST_CASE("step k of an epoch covers samples (k-1)G up to kG exactly",
          "[core][schedule]") {
  for (auto [r, a, b] : std::vector<std::tuple<int, int, int>>{
         {1, 1, 64}, {2, 1, 32}, {1, 2, 32}, {2, 4, 8}, {3, 2, 5}}) {
    trainer_options o;
    o.replicas = r;
    o.accumulate = a;
    o.batch_size = b;
    o.max_epochs = 2;
    auto s = schedule::make(o, 1000);
    CHECK(s.global_batch == r * a * b);
    CHECK(s.steps_per_epoch == 1000 / (r * a * b));
    CHECK(s.dropped_per_epoch == 1000 % (r * a * b));
    for (int64_t step :
         {int64_t{1}, int64_t{2}, s.steps_per_epoch, s.steps_per_epoch + 1}) {
      std::set<int64_t> covered;
      for (int64_t rank = 0; rank < r; ++rank)
        for (int64_t m = 0; m < a; ++m)
          for (int64_t i = 0; i < b; ++i)
            CHECK(covered.insert(s.first_sample(step, rank, m) + i).second);
      auto k = s.step_in_epoch(step);
      CHECK(*covered.begin() == (k - 1) * s.global_batch);
      CHECK(*covered.rbegin() == k * s.global_batch - 1);
    }
  }
}

TEST_CASE("epochs, validation and logging steps", "[core][schedule]") {
  trainer_options o;
  o.batch_size = 10;
  o.max_epochs = 3;
  o.log_every_n_steps = 4;
  auto s = schedule::make(o, 105); // 10 steps per epoch, 5 samples dropped
  CHECK(s.total_steps == 30);
  CHECK(s.epoch_of(1) == 0);
  CHECK(s.epoch_of(10) == 0);
  CHECK(s.epoch_of(11) == 1);
  CHECK(s.is_epoch_end(10));
  CHECK_FALSE(s.is_epoch_end(11));
  CHECK(s.is_validation_step(20));
  CHECK_FALSE(s.is_validation_step(4));
  CHECK(s.is_log_step(8));
  CHECK_FALSE(s.is_log_step(10));
  o.val_every_n_steps = 7;
  o.max_steps = 15;
  s = schedule::make(o, 105);
  CHECK(s.total_steps == 15);
  CHECK(s.is_validation_step(14));
  CHECK_FALSE(s.is_validation_step(10));
  CHECK(s.is_epoch_end(15)); // the last step closes a partial epoch
}

TEST_CASE("a global batch larger than the data set is refused",
          "[core][schedule]") {
  trainer_options o;
  o.batch_size = 64;
  o.replicas = 2;
  try {
    schedule::make(o, 100);
    FAIL("accepted");
  } catch (const config_error& e) {
    CHECK(e.field() == "batch-size");
  }
}
