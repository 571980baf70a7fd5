#include "troupe/actors/stepper.hpp"

#include <cmath>
#include <deque>
#include <filesystem>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include "troupe/core/logging/run_dir.hpp"
#include "troupe/core/train/fit_loop.hpp"
#include "troupe/core/train/flat_grads.hpp"
#include "troupe/core/train/metric_names.hpp"
#include "troupe/core/train/model.hpp"
#include "troupe/core/train/reducers.hpp"
#include "troupe/core/train/rng.hpp"
#include "troupe/messages/type_ids.hpp"

namespace troupe::actors {

namespace {

struct stepper_state {
  static inline const char* name = "stepper";

  stepper_config cfg;
  std::string id; ///< stepper[rank]
  torch::Device device{torch::kCPU};
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  /// The groups' learning rates as the factory set them.
  std::vector<double> initial_lrs;
  /// The module's floating-point buffers (BatchNorm's running statistics),
  /// averaged over replicas every step; empty with one replica.
  std::vector<at::Tensor> float_buffers;
  /// Every buffer (BatchNorm's step count too) and its value before the
  /// step in progress (skip_nonfinite only).
  std::vector<at::Tensor> all_buffers;
  std::vector<at::Tensor> buffers_before;
  at::Generator generator;
  core::flat_grads grads;
  int64_t next_step = 1;
  bool awaiting_reduced = false;
  bool failed = false;
  std::deque<step_batch> queue;
  /// An evaluation of a step this replica has not applied yet: it runs once
  /// that step's reduced gradient is in (the coordinator may ask as soon as
  /// it has the step's summary, before this stepper got its answer).
  std::optional<eval_request> held_eval;
  /// A checkpoint asked for a step this replica has not applied yet.
  std::optional<int64_t> held_checkpoint;
};

using stepper_impl = tapped_stateful<stepper_actor, stepper_state>;

void report(stepper_impl* self, int64_t step, std::string what) {
  auto& st = self->state;
  st.failed = true;
  st.queue.clear();
  self->send(st.cfg.coordinator, actor_failure{st.id, step, std::move(what)});
}

void add(metric_sums& xs, const std::string& name, double value, double n) {
  core::accumulate(xs, metric_sums{{name, value * n, n}});
}

/// What is wrong with the metrics a step function returned ("" if nothing):
/// each is logged as train/NAME, val/NAME and test/NAME.
std::string metrics_problem(const metric_values& ms) {
  for (const auto& m : ms) {
    if (m.name == "loss")
      return "the model's step function returned a metric named 'loss'; "
             "troupe logs the loss it returns under that name";
    if (auto what = core::metric_name_problem("train/" + m.name); !what.empty())
      return "the model's step function returned a bad metric name: " + what;
  }
  return {};
}

void apply_reduced(stepper_impl* self, const reduced_gradient& r);

/// Runs the micro-batches of one step and asks the aggregator with the
/// contribution; returns false after reporting a failure.
bool run_step(stepper_impl* self, const step_batch& b) {
  auto& st = self->state;
  const auto& s = st.cfg.sched;
  st.grads.zero();
  contribution c;
  c.epoch = b.epoch;
  c.step = b.step;
  c.rank = st.cfg.rank;
  auto& module = *st.cfg.module;
  core::replica_generator_scope rng{st.generator};
  // With several replicas, a draw from the global generator would make the
  // run depend on thread timing: refuse it.
  at::Tensor global_before;
  if (s.replicas > 1)
    global_before = core::global_generator_state();
  if (st.cfg.skip_nonfinite) {
    st.buffers_before.clear();
    for (const auto& x : st.all_buffers)
      st.buffers_before.push_back(x.detach().clone());
  }
  for (const auto& mb : b.micro) {
    auto x = mb.inputs.tensor.to(st.device);
    auto y = mb.targets.tensor.to(st.device);
    auto n = x.size(0);
    auto out = st.cfg.model.step(module, x, y);
    auto loss = out.loss.item<double>();
    bool finite = std::isfinite(loss);
    if (!finite && !st.cfg.skip_nonfinite) {
      report(self, b.step,
             fmt::format("non-finite loss ({}) at step {} on replica {} "
                         "(--on-nonfinite-loss=skip-step skips such steps)",
                         loss, b.step, st.cfg.rank));
      return false;
    }
    // Weight by samples / global batch: the rank-ordered sum of every
    // replica's buffer is then the sample-weighted mean gradient. A
    // non-finite loss is contributed as it is (the step will be skipped),
    // without its gradient.
    if (finite && n == s.global_batch)
      out.loss.backward();
    else if (finite)
      (out.loss
       * (static_cast<double>(n) / static_cast<double>(s.global_batch)))
        .backward();
    if (auto what = metrics_problem(out.metrics); !what.empty()) {
      report(self, b.step, fmt::format("{} (step {})", what, b.step));
      return false;
    }
    add(c.outputs, "loss", loss, static_cast<double>(n));
    for (const auto& m : out.metrics)
      add(c.outputs, m.name, m.value, static_cast<double>(n));
    c.samples += n;
  }
  if (global_before.defined()
      && !global_before.equal(core::global_generator_state())) {
    report(self, b.step,
           fmt::format("the model drew from LibTorch's global random "
                       "generator at step {} (e.g. torch::nn::Dropout, "
                       "torch::randn without a generator); with {} replicas "
                       "that depends on thread timing: use troupe::core::"
                       "dropout, or draw from troupe::core::replica_generator()"
                       " (troupe/core/train/layers.hpp)",
                       b.step, s.replicas));
    return false;
  }
  c.lr = st.cfg.lr_at ? st.cfg.lr_at(b.step) : st.initial_lrs.front();
  if (!std::isfinite(c.lr) || c.lr < 0) {
    report(self, b.step,
           fmt::format("the learning rate schedule gave {} for step {}", c.lr,
                       b.step));
    return false;
  }
  c.grad.tensor = st.grads.buffer();
  if (!st.float_buffers.empty()) {
    auto dtype = st.float_buffers.front().scalar_type();
    for (const auto& x : st.float_buffers)
      dtype = c10::promoteTypes(dtype, x.scalar_type());
    std::vector<at::Tensor> flat;
    for (const auto& x : st.float_buffers)
      flat.push_back(x.detach().reshape({-1}).to(dtype));
    c.buffers.tensor = at::cat(flat);
  }
  auto step = b.step;
  self->request(st.cfg.aggregator, caf::infinite, std::move(c))
    .then(
      [=](reduced_gradient& r) {
        apply_reduced(self, r);
      },
      [=](caf::error& err) {
        if (!self->state.failed)
          report(self, step,
                 fmt::format("the aggregator did not reduce step {}: {}", step,
                             self->system().render(err)));
      });
  return true;
}

void evaluate(stepper_impl* self, eval_kind kind, int64_t step) {
  auto& st = self->state;
  const auto& data = kind == eval_kind::test ? st.cfg.data->test
                                             : st.cfg.data->val;
  eval_contribution ec;
  ec.kind = kind;
  ec.step = step;
  ec.rank = st.cfg.rank;
  auto& module = *st.cfg.module;
  auto n = data.size();
  auto replicas = st.cfg.sched.replicas;
  // Contiguous shards, one per replica, like a distributed sampler.
  auto begin = n * st.cfg.rank / replicas;
  auto end = n * (st.cfg.rank + 1) / replicas;
  {
    torch::NoGradGuard no_grad;
    core::replica_generator_scope rng{st.generator};
    module.eval();
    for (auto i = begin; i < end;) {
      auto j = i + std::min(end - i, st.cfg.eval_batch_size);
      auto x = data.inputs.slice(0, i, j).to(st.device);
      auto y = data.targets.slice(0, i, j).to(st.device);
      auto out = st.cfg.model.step(module, x, y);
      auto m = static_cast<double>(j - i);
      if (auto what = metrics_problem(out.metrics); !what.empty())
        throw std::invalid_argument(what);
      add(ec.outputs, "loss", out.loss.item<double>(), m);
      for (const auto& metric : out.metrics)
        add(ec.outputs, metric.name, metric.value, m);
      i = j;
    }
    module.train();
  }
  ec.param_digest = core::state_digest(module);
  self->send(st.cfg.aggregator, std::move(ec));
}

void export_params(stepper_impl* self, const char* file) {
  auto& st = self->state;
  if (st.cfg.rank != 0 || st.cfg.export_dir.empty())
    return;
  // Serialized in memory, then written atomically: a full disk leaves the
  // previous file (or none), never a truncated archive.
  auto path = st.cfg.export_dir + "/" + file;
  std::ostringstream bytes;
  try {
    torch::save(st.cfg.module, bytes);
  } catch (const std::exception& e) {
    throw std::runtime_error(
      path + ": cannot serialize the parameters: " + core::error_text(e));
  }
  core::write_file_atomic(path, bytes.str());
}

/// Sends the checkpointer this replica's share of the checkpoint of `step`,
/// the step it applied last: every replica its generator, replica 0 the
/// module and the optimizer (bit-identical on every replica).
void send_checkpoint(stepper_impl* self, int64_t step) {
  auto& st = self->state;
  if (!st.cfg.checkpointer)
    return;
  checkpoint_part p;
  p.step = step;
  p.from = st.id;
  if (st.cfg.rank == 0) {
    p.sections.push_back({"model", core::module_bytes(*st.cfg.module)});
    p.sections.push_back({"shapes", core::module_shapes(*st.cfg.module)});
    p.sections.push_back({"optimizer", core::optimizer_bytes(*st.optimizer)});
    // One replica may draw from LibTorch's global generator (with several
    // it is refused): its state too.
    if (st.cfg.sched.replicas == 1)
      p.sections.push_back(
        {"generator/global",
         core::generator_bytes(at::detail::getDefaultCPUGenerator())});
  }
  p.sections.push_back({fmt::format("generator/{}", st.cfg.rank),
                        core::generator_bytes(st.generator)});
  self->send(st.cfg.checkpointer, std::move(p));
}

/// Exports (test) and evaluates the parameters after step `r.step`.
void run_eval(stepper_impl* self, const eval_request& r) {
  if (r.kind == eval_kind::test)
    export_params(self, "params_final.pt");
  evaluate(self, r.kind, r.step);
}

void run_queued(stepper_impl* self) {
  auto& st = self->state;
  while (!st.failed && !st.awaiting_reduced && !st.queue.empty()) {
    auto b = std::move(st.queue.front());
    st.queue.pop_front();
    if (b.step != st.next_step)
      return report(self, b.step,
                    fmt::format("received the batch of step {} while expecting "
                                "step {}",
                                b.step, st.next_step));
    if (!run_step(self, b))
      return;
    st.awaiting_reduced = true;
  }
}

/// Copies the replicas' averaged buffers (flat, in registration order) into
/// this replica's.
void copy_buffers(stepper_state& st, const at::Tensor& flat) {
  int64_t total = 0;
  for (const auto& x : st.float_buffers)
    total += x.numel();
  if (flat.dim() != 1 || flat.numel() != total)
    throw std::runtime_error(fmt::format("averaged buffers of {} values for "
                                         "buffers of {}",
                                         flat.numel(), total));
  torch::NoGradGuard no_grad;
  int64_t at = 0;
  for (auto& x : st.float_buffers) {
    auto n = x.numel();
    x.copy_(flat.slice(0, at, at + n).view(x.sizes()));
    at += n;
  }
}

template <class F>
void guard(stepper_impl* self, int64_t step, F f) {
  if (self->state.failed)
    return;
  try {
    f();
  } catch (const std::exception& e) {
    report(self, step, fmt::format("{} at step {}", core::error_text(e), step));
  }
}

/// Applies the reduced gradient of the step in progress, runs the scheduled
/// validation, then the next queued step.
void apply_reduced(stepper_impl* self, const reduced_gradient& r) {
  guard(self, r.step, [&] {
    auto& st = self->state;
    if (!st.awaiting_reduced || r.step != st.next_step)
      return report(self, r.step,
                    fmt::format("unexpected reduced gradient for step {} (at "
                                "step {})",
                                r.step, st.next_step));
    // Steps from the reduced tensor itself: no copy into this replica's
    // buffer (every replica reads the same tensor; optimizers only read
    // gradients).
    if (r.skip) {
      // Nobody applies this step: the buffers go back to before it.
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < st.all_buffers.size(); ++i)
        st.all_buffers[i].copy_(st.buffers_before.at(i));
    } else {
      if (r.buffers.tensor.defined())
        copy_buffers(st, r.buffers.tensor);
      if (st.cfg.lr_at)
        core::set_learning_rate(*st.optimizer, st.cfg.lr_at(r.step),
                                st.initial_lrs);
      st.grads.step_with(r.grad.tensor, [&] {
        st.optimizer->step();
      });
    }
    st.awaiting_reduced = false;
    ++st.next_step;
    if (st.cfg.sched.is_validation_step(r.step))
      evaluate(self, eval_kind::validation, r.step);
    if (core::steppers_checkpoint(st.cfg.sched, r.step, st.cfg.checkpoint_every,
                                  st.cfg.checkpoint_validations)
        || (st.held_checkpoint && *st.held_checkpoint == r.step)) {
      st.held_checkpoint.reset();
      send_checkpoint(self, r.step);
    }
    if (st.held_eval && st.held_eval->step < st.next_step) {
      auto e = *st.held_eval;
      st.held_eval.reset();
      run_eval(self, e);
    }
    run_queued(self);
  });
}

stepper_actor::behavior_type stepper(stepper_impl* self, stepper_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.id = fmt::format("stepper[{}]", st.cfg.rank);
  st.generator = core::make_replica_generator(st.cfg.seed, st.cfg.rank);
  self->tap(st.id, st.cfg.tap);
  guard(self, 0, [&] {
    st.device = torch::Device(st.cfg.device);
    st.cfg.module->to(st.device);
    st.cfg.module->train();
    auto params = st.cfg.module->parameters();
    if (!st.cfg.make_optimizer)
      throw std::invalid_argument("no optimizer factory");
    st.optimizer = st.cfg.make_optimizer(params);
    if (!st.optimizer || st.optimizer->param_groups().empty())
      throw std::invalid_argument("the optimizer factory returned no "
                                  "optimizer (or one without parameter "
                                  "groups)");
    st.initial_lrs = core::group_learning_rates(*st.optimizer);
    if (st.cfg.skip_nonfinite)
      st.all_buffers = st.cfg.module->buffers();
    if (st.cfg.sched.replicas > 1)
      for (const auto& b : st.cfg.module->buffers())
        if (b.is_floating_point())
          st.float_buffers.push_back(b);
    st.grads = core::flat_grads(params);
    if (const auto& r = st.cfg.resume) {
      // The module has the checkpoint's parameters already (the trainer
      // loaded them): the optimizer's state and this replica's generator.
      core::load_optimizer(*st.optimizer,
                           r->section("optimizer", st.cfg.resume_file),
                           st.cfg.resume_file);
      core::load_generator(st.generator,
                           r->section(fmt::format("generator/{}", st.cfg.rank),
                                      st.cfg.resume_file),
                           st.cfg.resume_file);
      st.next_step = r->step + 1;
    } else {
      export_params(self, "params_init.pt");
    }
  });
  return {
    [=](step_batch& b) {
      guard(self, b.step, [&] {
        self->state.queue.push_back(std::move(b));
        run_queued(self);
      });
    },
    [=](const eval_request& r) {
      guard(self, r.step, [&] {
        if (r.step >= self->state.next_step)
          self->state.held_eval = r;
        else
          run_eval(self, r);
      });
    },
    [=](const checkpoint_request& r) {
      guard(self, r.step, [&] {
        auto& st = self->state;
        if (r.step >= st.next_step)
          st.held_checkpoint = r.step;
        else if (r.step == st.next_step - 1)
          send_checkpoint(self, r.step);
        else
          report(self, r.step,
                 fmt::format("asked for the checkpoint of step {} after "
                             "applying step {}",
                             r.step, st.next_step - 1));
      });
    },
  };
}

} // namespace

stepper_actor spawn_stepper(caf::actor_system& sys, stepper_config cfg) {
  return sys.spawn(stepper, std::move(cfg));
}

} // namespace troupe::actors
