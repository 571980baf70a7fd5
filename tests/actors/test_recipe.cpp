// The training recipe is the user's: optimizers, learning-rate schedules on
// the step axis, clipping of the reduced gradient, dropout from the
// replica's generator and models with buffers, each held against a
// hand-written LibTorch loop on the equivalent single batch of G samples.

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <torch/torch.h>

#include "boring_model.hpp"
#include "metrics_reader.hpp"
#include "temp_dir.hpp"
#include "troupe/actors/trainer.hpp"
#include "troupe/core/train/layers.hpp"
#include "troupe/core/train/lr_schedule.hpp"
#include "troupe/core/train/optimizer.hpp"
#include "troupe/core/train/rng.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

constexpr int64_t features = 8;
constexpr int64_t classes = 3;

/// G = 2 replicas x 2 micro-batches x 8 = 32; no shuffling, so step s takes
/// samples [(s-1)G, sG) of the training set.
core::trainer_options recipe_options(const std::string& dir) {
  core::trainer_options o;
  o.replicas = 2;
  o.accumulate = 2;
  o.batch_size = 8;
  o.max_epochs = 1;
  o.shuffle = false;
  o.log_every_n_steps = 1;
  o.loggers = {"jsonl"};
  o.run_dir = dir;
  o.seed = 5;
  return o;
}

core::model_def small_mlp() {
  return core::mlp_classifier({features, 16, classes});
}

struct hand_result {
  std::vector<at::Tensor> params;
  std::vector<double> norms; ///< pre-clip gradient norm per step
  std::vector<double> lrs;   ///< rate applied per step
};

using torch_optimizer = std::function<std::unique_ptr<torch::optim::Optimizer>(
  const std::vector<at::Tensor>&)>;

/// SGD as troupe's defaults give it, written out.
std::unique_ptr<torch::optim::Optimizer>
default_sgd(const std::vector<at::Tensor>& params) {
  return std::make_unique<torch::optim::SGD>(
    params, torch::optim::SGDOptions(0.02).momentum(0.9));
}

/// The same fit written by hand: one model from the same seed, the optimizer
/// `by_hand` builds (LibTorch's classes with literal settings), the mean
/// cross-entropy over each step's G samples, the rate of the schedule,
/// clip_grad_norm_ when `clip` > 0.
hand_result hand_loop(const core::trainer_options& given,
                      const core::data_module& data, int64_t steps, double clip,
                      const torch_optimizer& by_hand) {
  auto o = core::with_optimizer_defaults(given);
  torch::manual_seed(o.seed);
  auto model = small_mlp().make();
  auto params = model->parameters();
  auto opt = by_hand(params);
  auto sched = core::lr_schedule_of(o, steps);
  int64_t g = o.replicas * o.accumulate * o.batch_size;
  hand_result out;
  for (int64_t s = 1; s <= steps; ++s) {
    opt->zero_grad();
    auto x = data.train.inputs.slice(0, (s - 1) * g, s * g);
    auto y = data.train.targets.slice(0, (s - 1) * g, s * g);
    auto m = std::static_pointer_cast<core::mlp_impl>(model);
    torch::nn::functional::cross_entropy(m->forward(x), y).backward();
    if (clip > 0)
      out.norms.push_back(torch::nn::utils::clip_grad_norm_(params, clip));
    auto lr = core::scheduled_lr(sched, s);
    out.lrs.push_back(lr);
    for (auto& group : opt->param_groups())
      group.options().set_lr(lr);
    opt->step();
  }
  for (const auto& p : params)
    out.params.push_back(p.detach().clone());
  return out;
}

/// Largest |a - b| / (1e-3 + |b|) over all parameters.
double worst_relative(const std::vector<at::Tensor>& a,
                      const std::vector<at::Tensor>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    auto d = ((a[i] - b[i]).abs() / (b[i].abs() + 1e-3)).max().item<double>();
    worst = std::max(worst, d);
  }
  return worst;
}

/// Collects the `lr` of every train_step_end event.
class lr_recorder : public core::callback {
public:
  std::string name() const override {
    return "lr_recorder";
  }
  callback_effects on_train_step_end(const train_step_end_event& e) override {
    lrs[e.step] = e.lr;
    return {};
  }
  std::map<int64_t, double> lrs;
};

} // namespace

TEST_CASE("every optimizer and schedule steps like a hand-written LibTorch "
          "loop on one batch of G samples",
          "[actors][recipe]") {
  using namespace torch::optim;
  using params_t = const std::vector<at::Tensor>&;
  struct variant {
    const char* name;
    std::function<void(core::trainer_options&)> set;
    torch_optimizer by_hand; // the same settings, written out
  };
  std::vector<variant> variants{
    {"sgd, step schedule",
     [](core::trainer_options& o) {
       o.lr_schedule = "step";
       o.step_size = 7;
       o.gamma = 0.5;
     },
     default_sgd},
    {"sgd nesterov, weight decay, linear",
     [](core::trainer_options& o) {
       o.nesterov = true;
       o.weight_decay = 1e-3;
       o.lr_schedule = "linear";
       o.min_lr = 0.001;
     },
     [](params_t p) -> std::unique_ptr<Optimizer> {
       return std::make_unique<SGD>(
         p, SGDOptions(0.02).momentum(0.9).nesterov(true).weight_decay(1e-3));
     }},
    {"adam, warmup then cosine",
     [](core::trainer_options& o) {
       o.optimizer = "adam";
       o.lr = 0.01;
       o.lr_schedule = "cosine";
       o.warmup_steps = 5;
     },
     [](params_t p) -> std::unique_ptr<Optimizer> {
       return std::make_unique<Adam>(
         p, AdamOptions(0.01).betas({0.9, 0.999}).eps(1e-8).weight_decay(0));
     }},
    {"adamw, betas, eps, cosine to min-lr",
     [](core::trainer_options& o) {
       o.optimizer = "adamw";
       o.lr = 0.01;
       o.betas = std::array<double, 2>{0.8, 0.99};
       o.eps = 1e-6;
       o.lr_schedule = "cosine";
       o.min_lr = 0.001;
     },
     [](params_t p) -> std::unique_ptr<Optimizer> {
       return std::make_unique<AdamW>(
         p, AdamWOptions(0.01).betas({0.8, 0.99}).eps(1e-6).weight_decay(1e-2));
     }},
    {"rmsprop with momentum, constant with warmup",
     [](core::trainer_options& o) {
       o.optimizer = "rmsprop";
       o.lr = 0.005;
       o.momentum = 0.5;
       o.warmup_steps = 3;
     },
     [](params_t p) -> std::unique_ptr<Optimizer> {
       return std::make_unique<RMSprop>(
         p, RMSpropOptions(0.005).alpha(0.99).eps(1e-8).momentum(0.5));
     }},
  };
  auto data = small_data(32 * 20); // 20 steps
  for (const auto& v : variants) {
    INFO(v.name);
    temp_dir dir;
    auto o = recipe_options(dir.path());
    v.set(o);
    auto rec = std::make_shared<lr_recorder>();
    trainer t{o};
    t.add_callback(rec);
    auto report = t.fit(small_mlp(), data);
    REQUIRE(report.status == fit_status::completed);
    REQUIRE(report.global_step == 20);
    auto hand = hand_loop(o, data, 20, 0, v.by_hand);
    CHECK(worst_relative(t.model()->parameters(), hand.params) < 1e-4);
    // The logged lr is the rate applied in update s, at step s, for every
    // step (log every step); the callbacks' lr agrees.
    auto lr = series(read_points(dir / "metrics.jsonl"), "lr");
    REQUIRE(lr.size() == 20);
    for (int64_t s = 1; s <= 20; ++s) {
      INFO("step " << s);
      CHECK(lr.at(s) == hand.lrs[s - 1]);
      CHECK(rec->lrs.at(s) == hand.lrs[s - 1]);
    }
  }
}

TEST_CASE("the logged lr follows the closed forms at every logged step",
          "[actors][recipe]") {
  auto data = small_data(32 * 30); // 30 steps
  const double pi = std::acos(-1.0);
  for (std::string kind : {"cosine", "linear", "step"}) {
    INFO(kind);
    temp_dir dir;
    auto o = recipe_options(dir.path());
    o.replicas = 1;
    o.accumulate = 1;
    o.batch_size = 32;
    o.log_every_n_steps = 4; // logged at 4, 8, ..., 28
    o.lr = 0.1;
    o.min_lr = 0.01;
    o.warmup_steps = 6;
    o.lr_schedule = kind;
    o.step_size = 5;
    o.gamma = 0.5;
    trainer t{o};
    REQUIRE(t.fit(small_mlp(), data).status == fit_status::completed);
    auto lr = series(read_points(dir / "metrics.jsonl"), "lr");
    REQUIRE(lr.size() == 7);
    for (const auto& [s, value] : lr) {
      INFO("step " << s);
      double x = static_cast<double>(s);
      double expected = 0;
      if (s <= 6)
        expected = 0.1 * x / 6;
      else if (kind == "cosine")
        expected = 0.01 + 0.09 * 0.5 * (1 + std::cos(pi * (x - 6) / 24));
      else if (kind == "linear")
        expected = 0.1 + (0.01 - 0.1) * (x - 6) / 24;
      else
        expected = 0.1 * std::pow(0.5, std::floor((x - 7) / 5));
      CHECK(value == Approx(expected).epsilon(1e-12));
    }
  }
}

TEST_CASE("clipping acts on the reduced gradient like clip_grad_norm_ on the "
          "single batch, and logs the pre-clip norm",
          "[actors][recipe]") {
  auto data = small_data(32 * 15);
  temp_dir dir;
  auto o = recipe_options(dir.path());
  o.lr = 0.5;              // large steps: gradients stay large
  o.clip_grad_norm = 0.05; // below the norm of every step here
  trainer t{o};
  REQUIRE(t.fit(small_mlp(), data).status == fit_status::completed);
  auto hand = hand_loop(o, data, 15, 0.05, default_sgd);
  CHECK(worst_relative(t.model()->parameters(), hand.params) < 1e-4);
  auto norms = series(read_points(dir / "metrics.jsonl"), "train/grad_norm");
  REQUIRE(norms.size() == 15);
  int clipped = 0;
  for (int64_t s = 1; s <= 15; ++s) {
    INFO("step " << s);
    CHECK(norms.at(s) == Approx(hand.norms[s - 1]).epsilon(1e-5));
    clipped += hand.norms[s - 1] > 0.05 ? 1 : 0;
  }
  CHECK(clipped == 15); // the comparison is of clipped steps
  // Without clipping the same fit ends elsewhere: clipping took effect.
  temp_dir other;
  auto unclipped = recipe_options(other.path());
  unclipped.lr = 0.5;
  trainer u{unclipped};
  REQUIRE(u.fit(small_mlp(), data).status == fit_status::completed);
  CHECK(worst_relative(u.model()->parameters(), hand.params) > 1e-2);
}

TEST_CASE("a user's optimizer factory and schedule function train the fit",
          "[actors][recipe]") {
  auto data = small_data(32 * 10);
  temp_dir dir;
  auto o = recipe_options(dir.path());
  trainer t{o};
  std::atomic<int> built{0};
  t.optimizer([&built](const std::vector<at::Tensor>& params) {
    ++built; // once per replica, on its stepper's thread
    return std::make_unique<torch::optim::Adagrad>(
      params, torch::optim::AdagradOptions(0.05));
  });
  t.lr_schedule([](int64_t step) {
    return 0.05 / static_cast<double>(step);
  });
  REQUIRE(t.fit(small_mlp(), data).status == fit_status::completed);
  CHECK(built == 2);
  // By hand: Adagrad on the single batch with the same rates.
  torch::manual_seed(o.seed);
  auto model = small_mlp().make();
  auto params = model->parameters();
  torch::optim::Adagrad opt(params, torch::optim::AdagradOptions(0.05));
  for (int64_t s = 1; s <= 10; ++s) {
    opt.zero_grad();
    auto x = data.train.inputs.slice(0, (s - 1) * 32, s * 32);
    auto y = data.train.targets.slice(0, (s - 1) * 32, s * 32);
    auto m = std::static_pointer_cast<core::mlp_impl>(model);
    torch::nn::functional::cross_entropy(m->forward(x), y).backward();
    opt.param_groups()[0].options().set_lr(0.05 / static_cast<double>(s));
    opt.step();
  }
  CHECK(worst_relative(t.model()->parameters(), params) < 1e-4);
  auto lr = series(read_points(dir / "metrics.jsonl"), "lr");
  CHECK(lr.at(4) == 0.05 / 4);
}

namespace {

/// A CNN fit on random 28x28 images: dropout draws at every step.
core::trainer_options cnn_options(const std::string& dir, int64_t threads) {
  core::trainer_options o;
  o.replicas = 2;
  o.batch_size = 16;
  o.max_steps = 12;
  o.log_every_n_steps = 4;
  o.val_every_n_steps = 6;
  o.optimizer = "adamw";
  o.lr_schedule = "cosine";
  o.warmup_steps = 2;
  o.scheduler_threads = threads;
  o.intra_op_threads = 1;
  o.loggers = {"csv", "jsonl"};
  o.run_dir = dir;
  return o;
}

core::data_module image_data() {
  return core::make_synthetic(16 * 2 * 12, 64, 64, 28 * 28, 10, 3);
}

core::cnn_spec small_cnn(bool batch_norm, double dropout) {
  core::cnn_spec s;
  s.channels1 = 4;
  s.channels2 = 8;
  s.hidden = 16;
  s.dropout = dropout;
  s.batch_norm = batch_norm;
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

TEST_CASE("a CNN with troupe dropout and 2 replicas is bit-identical across "
          "runs and scheduler thread counts",
          "[actors][recipe]") {
  auto data = image_data();
  std::vector<uint64_t> digests;
  std::vector<std::string> metrics;
  for (int64_t threads : {1, 2, 1}) {
    INFO("scheduler threads " << threads);
    temp_dir dir;
    trainer t{cnn_options(dir.path(), threads)};
    auto report = t.fit(core::cnn_classifier(small_cnn(false, 0.5)), data);
    REQUIRE(report.status == fit_status::completed);
    digests.push_back(core::state_digest(*t.model()));
    metrics.push_back(read_file(dir / "metrics.csv"));
  }
  CHECK(digests[0] == digests[1]);
  CHECK(digests[0] == digests[2]);
  CHECK(metrics[0] == metrics[1]);
  CHECK(metrics[0] == metrics[2]);
  // The masks matter: without dropout the fit ends elsewhere.
  temp_dir dir;
  trainer t{cnn_options(dir.path(), 2)};
  REQUIRE(t.fit(core::cnn_classifier(small_cnn(false, 0)), data).status
          == fit_status::completed);
  CHECK(core::state_digest(*t.model()) != digests[0]);
}

TEST_CASE("troupe dropout draws from the replica's generator and is the "
          "identity in evaluation",
          "[actors][recipe]") {
  core::dropout d(0.5);
  auto x = torch::ones({1000});
  auto gen = core::make_replica_generator(1, 0);
  at::Tensor a;
  at::Tensor b;
  {
    core::replica_generator_scope scope{gen};
    a = d->forward(x);
  }
  auto again = core::make_replica_generator(1, 0);
  {
    core::replica_generator_scope scope{again};
    b = d->forward(x);
  }
  CHECK(a.equal(b));
  // Inverted dropout: zeros and 1 / (1 - p), about half each.
  auto zeros = a.eq(0).sum().item<int64_t>();
  CHECK(zeros > 400);
  CHECK(zeros < 600);
  CHECK(a.eq(2).sum().item<int64_t>() == 1000 - zeros);
  d->eval();
  CHECK(d->forward(x).equal(x));
  CHECK_THROWS_WITH(core::dropout(1.0), Catch::Contains("[0, 1)"));
}

TEST_CASE("BatchNorm with 2 replicas: buffers are averaged in rank order "
          "every step and the replicas stay identical",
          "[actors][recipe]") {
  auto data = image_data();
  temp_dir dir;
  auto o = cnn_options(dir.path(), 2);
  o.optimizer = "sgd";
  o.lr_schedule = "constant";
  o.warmup_steps = 0;
  o.max_steps = 1;
  o.shuffle = false;       // replica r takes samples [16r, 16r + 16)
  o.val_every_n_steps = 1; // the digests of both replicas are compared
  trainer t{o};
  auto def = core::cnn_classifier(small_cnn(true, 0));
  REQUIRE(t.fit(def, data).status == fit_status::completed);
  // By hand: each replica's forward pass on its half of step 1 updates its
  // running statistics; the fit keeps their mean.
  torch::manual_seed(o.seed);
  auto r0 = std::static_pointer_cast<core::cnn_impl>(def.make());
  auto r1 = std::static_pointer_cast<core::cnn_impl>(def.make());
  core::copy_state(*r0, *r1);
  r0->forward(data.train.inputs.slice(0, 0, 16));
  r1->forward(data.train.inputs.slice(0, 16, 32));
  auto trained = std::static_pointer_cast<core::cnn_impl>(t.model());
  auto mean = (r0->bn1->running_mean + r1->bn1->running_mean) / 2;
  CHECK(trained->bn1->running_mean.allclose(mean, 0, 1e-7));
  CHECK(!r0->bn1->running_mean.allclose(r1->bn1->running_mean));
  auto var = (r0->bn2->running_var + r1->bn2->running_var) / 2;
  CHECK(trained->bn2->running_var.allclose(var, 0, 1e-7));
  // A longer fit with validations does not diverge.
  temp_dir longer;
  auto l = cnn_options(longer.path(), 2);
  trainer u{l};
  auto report = u.fit(def, data);
  CHECK(report.error == "");
  CHECK(report.status == fit_status::completed);
}

namespace {

/// An MLP with an integer buffer counting its inputs' positive elements:
/// data-dependent, so replicas (on different samples) disagree on it, and
/// integer buffers are not averaged.
struct counting_impl : core::mlp_impl {
  counting_impl() : core::mlp_impl({features, 16, classes}) {
    seen = register_buffer("seen", torch::zeros({1}, torch::kLong));
  }
  at::Tensor forward(at::Tensor x) {
    if (is_training())
      seen += x.gt(0).sum();
    return core::mlp_impl::forward(x);
  }
  at::Tensor seen;
};

} // namespace

TEST_CASE("replicas that diverge fail the fit naming the buffer that differs",
          "[actors][recipe]") {
  auto def = core::make_model<counting_impl>(
    [] {
      return std::make_shared<counting_impl>();
    },
    [](counting_impl& m, const at::Tensor& x, const at::Tensor& y) {
      return core::classification_outputs(m.forward(x), y);
    });
  temp_dir dir;
  auto o = recipe_options(dir.path());
  o.val_every_n_steps = 3;
  trainer t{o};
  auto report = t.fit(def, small_data(32 * 10));
  CHECK(report.status == fit_status::failed);
  CHECK_THAT(report.error,
             Catch::Contains("replicas diverged")
               && Catch::Contains("buffer 'seen'"));
}

TEST_CASE("evaluate gives the fit's test metrics from the trained module, "
          "predict its outputs in input order",
          "[actors][recipe]") {
  auto data = small_data(32 * 10);
  temp_dir dir;
  auto o = recipe_options(dir.path());
  o.eval_batch_size = 7; // several batches per shard
  trainer t{o};
  auto def = small_mlp();
  auto report = t.fit(def, data);
  REQUIRE(report.status == fit_status::completed);
  std::map<std::string, double> last;
  for (const auto& m : report.last)
    last[m.name] = m.value;
  auto e = t.evaluate(def, data, t.model());
  REQUIRE(e.error == "");
  REQUIRE(e.test.size() == 2);
  for (const auto& m : e.test) {
    INFO(m.name);
    CHECK(m.value == last.at(m.name)); // bit-identical: same shards, order
  }
  REQUIRE(!e.val.empty());
  CHECK(e.val.front().name == "val/loss");
  // From the seed instead: other metrics.
  auto init = t.evaluate(def, data);
  REQUIRE(init.error == "");
  CHECK(init.test.front().value != e.test.front().value);
  // predict: batches of 7 in input order, like one forward pass.
  auto out = t.predict(def, *t.model(), data.test.inputs);
  torch::NoGradGuard no_grad;
  t.model()->eval();
  auto whole = def.forward(*t.model(), data.test.inputs);
  REQUIRE(out.sizes() == whole.sizes());
  CHECK(out.allclose(whole, 1e-6, 1e-6));
  CHECK(!out.slice(0, 0, 7).allclose(out.slice(0, 7, 14)));
  core::model_def no_forward = def;
  no_forward.forward = nullptr;
  CHECK_THROWS_WITH(t.predict(no_forward, *t.model(), data.test.inputs),
                    Catch::Contains("no forward"));
}
