// Same config and seed: byte-identical metrics and bit-identical parameters,
// whatever the scheduler threads or the arrival order at the aggregator.

#include <catch2/catch.hpp>

#include <algorithm>
#include <mutex>
#include <set>

#include "boring_model.hpp"
#include "deterministic_fixture.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/aggregator.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/train/rng.hpp"

#include <chrono>
#include <thread>

using namespace troupe;
using namespace troupe::test;

namespace {

struct run_output {
  std::string csv;
  std::string jsonl;
  std::vector<at::Tensor> params;
  /// The ranks in the order their contributions reached the aggregator,
  /// step after step.
  std::vector<int32_t> arrivals;
  /// Steps whose gradients, summed in arrival order, differ in some bit from
  /// the rank-ordered sum: where an arrival-order reduction would show.
  int64_t order_sensitive_steps = 0;
};

/// The recording model with dropout drawn from the replica's generator and,
/// optionally, a delay on one replica's micro-batches (to permute the order
/// in which replicas reach the aggregator).
core::model_def noisy_model(std::shared_ptr<micro_log> log,
                            int slow_rank = -1) {
  auto model = recording_model(log);
  auto inner = model.step;
  model.step = [inner, log, slow_rank](torch::nn::Module& m,
                                       const at::Tensor& x,
                                       const at::Tensor& y) {
    auto in = x;
    if (m.is_training()) {
      auto keep = torch::bernoulli(torch::full_like(x, 0.8),
                                   core::replica_generator());
      in = x * keep / 0.8;
      if (slow_rank >= 0) {
        std::lock_guard<std::mutex> guard{log->mtx};
        if (log->modules.size() > static_cast<size_t>(slow_rank)
            && log->modules[static_cast<size_t>(slow_rank)].get() == &m)
          std::this_thread::sleep_for(std::chrono::microseconds(300));
      }
    }
    return inner(m, in, y);
  };
  return model;
}

run_output run(int64_t threads, int64_t replicas = 3, int slow_rank = -1) {
  temp_dir dir;
  auto log = std::make_shared<micro_log>();
  core::trainer_options o;
  o.replicas = replicas;
  o.accumulate = 2;
  o.batch_size = 16;
  o.max_epochs = 2;
  o.log_every_n_steps = 3;
  o.val_every_n_steps = 7;
  o.scheduler_threads = threads;
  o.seed = 5;
  o.loggers = {"csv", "jsonl"};
  o.run_dir = dir.path();
  trainer t{o};
  t.add_callback(std::make_shared<core::ema_metric>(0.3, "train/loss"));
  // The contributions as the aggregator receives them (on its thread).
  std::mutex mtx;
  std::vector<contribution> arrived;
  t.tap([&](const std::string& actor, const caf::mailbox_element& x) {
    if (actor != "aggregator" || !x.content().match_elements<contribution>())
      return;
    auto c = x.content().get_as<contribution>(0);
    c.grad.tensor = c.grad.tensor.clone();
    std::lock_guard<std::mutex> guard{mtx};
    arrived.push_back(std::move(c));
  });
  auto report = t.fit(noisy_model(log, slow_rank), small_data(1000));
  REQUIRE(report.status == troupe::fit_status::completed);
  run_output out{read_text(dir / "metrics.csv"),
                 read_text(dir / "metrics.jsonl"),
                 {},
                 {},
                 0};
  for (const auto& m : log->modules)
    for (const auto& p : m->parameters())
      out.params.push_back(p.detach().clone());
  auto n = static_cast<size_t>(replicas);
  REQUIRE(arrived.size() == n * static_cast<size_t>(report.global_step));
  for (size_t i = 0; i < arrived.size(); i += n) {
    at::Tensor in_arrival;
    std::vector<at::Tensor> by_rank(n);
    for (size_t k = i; k < i + n; ++k) {
      out.arrivals.push_back(arrived[k].rank);
      const auto& g = arrived[k].grad.tensor;
      in_arrival = in_arrival.defined() ? in_arrival + g : g.clone();
      by_rank[static_cast<size_t>(arrived[k].rank)] = g;
    }
    auto in_rank = by_rank[0].clone();
    for (size_t r = 1; r < n; ++r)
      in_rank = in_rank + by_rank[r];
    if (!in_arrival.equal(in_rank))
      ++out.order_sensitive_steps;
  }
  return out;
}

} // namespace

TEST_CASE("two runs, 1 or 2 scheduler threads: identical outputs",
          "[actors][determinism]") {
  auto a = run(1);
  auto b = run(2);
  auto c = run(2);
  REQUIRE(a.csv.size() > 100);
  CHECK(a.csv == b.csv);
  CHECK(b.csv == c.csv);
  CHECK(a.jsonl == b.jsonl);
  REQUIRE(a.params.size() == b.params.size());
  for (size_t i = 0; i < a.params.size(); ++i) {
    CHECK(a.params[i].equal(b.params[i]));
    CHECK(b.params[i].equal(c.params[i]));
  }
  // Every replica of a run holds the same parameters.
  auto per_replica = a.params.size() / 3;
  for (size_t i = 0; i < per_replica; ++i) {
    CHECK(a.params[i].equal(a.params[per_replica + i]));
    CHECK(a.params[i].equal(a.params[2 * per_replica + i]));
  }
}

TEST_CASE("replicas arriving in another order: identical outputs",
          "[actors][determinism]") {
  // Slowing replica 0 makes the others reach the aggregator first, slowing
  // replica 2 the other way round; the rank-ordered reduction hides the
  // difference. Three replicas: two floats sum to the same bits in either
  // order.
  auto a = run(2, 3, 0);
  auto b = run(2, 3, 2);
  // The test can fail: the arrival orders differed, and summing in arrival
  // order would have changed bits.
  CHECK(a.arrivals != b.arrivals);
  CHECK(a.order_sensitive_steps + b.order_sensitive_steps > 0);
  CHECK(a.csv == b.csv);
  CHECK(a.jsonl == b.jsonl);
  REQUIRE(a.params.size() == b.params.size());
  for (size_t i = 0; i < a.params.size(); ++i)
    CHECK(a.params[i].equal(b.params[i]));
}

TEST_CASE("scheduler_threads reaches CAF", "[actors][determinism]") {
  // With one scheduler thread every scheduled actor (all but the detached
  // logger and checkpointer) handles its messages on the same thread.
  auto threads_used = [](int64_t threads) {
    temp_dir dir;
    core::trainer_options o;
    o.replicas = 2;
    o.batch_size = 16;
    o.max_epochs = 1;
    o.scheduler_threads = threads;
    o.loggers = {"csv"};
    o.run_dir = dir.path();
    trainer t{o};
    size_t configured = 0;
    t.configure([&](caf::actor_system_config& cfg) {
      configured = caf::get_or(cfg, "scheduler.max-threads", size_t{0});
    });
    std::mutex mtx;
    std::set<std::thread::id> ids;
    t.tap([&](const std::string& actor, const caf::mailbox_element&) {
      if (actor == "logger" || actor == "checkpointer")
        return;
      std::lock_guard<std::mutex> guard{mtx};
      ids.insert(std::this_thread::get_id());
    });
    REQUIRE(
      t.fit(recording_model(std::make_shared<micro_log>()), small_data(512))
        .status
      == troupe::fit_status::completed);
    CHECK(configured == static_cast<size_t>(threads));
    return ids.size();
  };
  CHECK(threads_used(1) == 1);
  threads_used(3); // checks the configured count
}

TEST_CASE("another seed gives other metrics", "[actors][determinism]") {
  // Guards the test above against comparing outputs that cannot differ.
  temp_dir d1;
  temp_dir d2;
  auto go = [](const std::string& dir, uint64_t seed) {
    core::trainer_options o;
    o.max_epochs = 1;
    o.batch_size = 16;
    o.log_every_n_steps = 5;
    o.loggers = {"csv"};
    o.seed = seed;
    o.run_dir = dir;
    trainer t{o};
    REQUIRE(
      t.fit(recording_model(std::make_shared<micro_log>()), small_data(512))
        .status
      == troupe::fit_status::completed);
    return read_text(dir + "/metrics.csv");
  };
  CHECK(go(d1.path(), 1) != go(d2.path(), 2));
}

namespace {

/// A stand-in stepper: asks the aggregator with the contributions the test
/// hands it and keeps what the aggregator answers.
struct fake_stepper_state {
  std::vector<reduced_gradient> received;
};

caf::behavior fake_stepper(caf::stateful_actor<fake_stepper_state>* self,
                           actors::aggregator_actor aggregator) {
  return {
    [=](contribution& c) {
      self->request(aggregator, caf::infinite, std::move(c))
        .then([=](reduced_gradient& r) {
          self->state.received.push_back(std::move(r));
        });
    },
  };
}

struct collector_state {
  std::vector<step_summary> summaries;
};

caf::behavior collector(caf::stateful_actor<collector_state>* self) {
  return {
    [=](step_summary& s) {
      self->state.summaries.push_back(std::move(s));
    },
  };
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "the aggregator reduces in rank order whatever the arrival "
                 "order",
                 "[actors][determinism]") {
  constexpr int replicas = 3;
  // Values chosen so that float addition order changes the result.
  std::vector<at::Tensor> grads{torch::tensor({1e8f, 1.0f, 0.1f}),
                                torch::tensor({1.0f, 1e8f, 0.2f}),
                                torch::tensor({-1e8f, -1e8f, 0.3f})};
  REQUIRE_FALSE(
    ((grads[0] + grads[1]) + grads[2]).equal((grads[2] + grads[1]) + grads[0]));
  std::vector<int> order{0, 1, 2};
  std::vector<std::string> reduced_bytes;
  std::vector<step_summary> summaries;
  do {
    auto sink = sys.spawn(collector);
    auto agg = actors::spawn_aggregator(
      sys, replicas, caf::actor_cast<actors::summary_sink_actor>(sink));
    std::vector<caf::actor> steppers;
    for (int r = 0; r < replicas; ++r)
      steppers.push_back(sys.spawn(fake_stepper, agg));
    sched.run();
    for (int step = 1; step <= 2; ++step) {
      for (int r : order) {
        contribution c;
        c.step = step;
        c.rank = r;
        c.samples = 10 * (r + 1);
        c.lr = 0.1;
        c.grad.tensor = grads[static_cast<size_t>(r)]
          * static_cast<float>(step);
        c.outputs
          = {{"loss", 0.1 * (r + 1) * 1e8 * (r == 2 ? -1 : 1), 10.0 * (r + 1)}};
        caf::anon_send(steppers[static_cast<size_t>(r)], std::move(c));
      }
      sched.run();
    }
    auto* cs = dynamic_cast<caf::stateful_actor<collector_state>*>(
      caf::actor_cast<caf::abstract_actor*>(sink));
    REQUIRE(cs != nullptr);
    REQUIRE(cs->state.summaries.size() == 2);
    summaries.push_back(cs->state.summaries.back());
    for (const auto& s : steppers) {
      auto* fs = dynamic_cast<caf::stateful_actor<fake_stepper_state>*>(
        caf::actor_cast<caf::abstract_actor*>(s));
      REQUIRE(fs != nullptr);
      REQUIRE(fs->state.received.size() == 2);
      auto t = fs->state.received.back().grad.tensor.contiguous();
      reduced_bytes.emplace_back(static_cast<const char*>(t.data_ptr()),
                                 t.nbytes());
    }
    for (const auto& s : steppers)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(agg, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
    sched.run();
  } while (std::next_permutation(order.begin(), order.end()));
  REQUIRE(summaries.size() == 6);
  for (const auto& s : summaries)
    CHECK(s == summaries.front());
  for (const auto& b : reduced_bytes)
    CHECK(b == reduced_bytes.front());
  // And the reduction is the rank-ordered one.
  auto expected = ((grads[0] + grads[1]) + grads[2]) * 2.0f;
  auto got = torch::from_blob(reduced_bytes.front().data(), {3},
                              torch::kFloat32);
  CHECK(got.equal(expected));
  CHECK(summaries.front().samples == 60);
  CHECK(summaries.front().per_replica.size() == 3);
}

TEST_CASE("augmented runs: identical with 1 or 2 scheduler threads, and "
          "different from unaugmented",
          "[actors][determinism]") {
  // 16 features = 4 x 4 images; the loader crops and flips them.
  auto train = [](int64_t threads, const std::string& augment) {
    temp_dir dir;
    auto log = std::make_shared<micro_log>();
    core::trainer_options o;
    o.replicas = 2;
    o.batch_size = 16;
    o.max_epochs = 1;
    o.log_every_n_steps = 4;
    o.scheduler_threads = threads;
    o.augment = augment;
    o.loggers = {"csv"};
    o.run_dir = dir.path();
    trainer t{o};
    REQUIRE(t.fit(recording_model(log, {16, 8, 3}),
                  core::make_synthetic(512, 64, 64, 16, 3, 11))
              .status
            == troupe::fit_status::completed);
    return read_text(dir / "metrics.csv");
  };
  auto a = train(1, "crop:1+flip");
  auto b = train(2, "crop:1+flip");
  CHECK(a == b);
  CHECK(a != train(2, ""));
}
