#include "troupe/actors/aggregator.hpp"

#include <cmath>
#include <map>
#include <optional>
#include <vector>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include "troupe/core/train/flat_grads.hpp"
#include "troupe/core/train/reducers.hpp"
#include "troupe/messages/type_ids.hpp"

namespace troupe::actors {

namespace {

struct aggregator_state {
  static inline const char* name = "aggregator";

  int32_t replicas = 1;
  std::optional<double> clip_grad_norm;
  /// The rank whose contribution arrived last (it completes the step).
  int32_t last_rank = 0;
  summary_sink_actor coordinator;
  int64_t next_step = 1;
  /// Contributions to `next_step`, by rank, and the requests to answer.
  std::vector<std::optional<contribution>> slots;
  std::vector<caf::typed_response_promise<reduced_gradient>> answers;
  /// Evaluation shares by (kind, step), by rank.
  std::map<std::pair<eval_kind, int64_t>,
           std::vector<std::optional<eval_contribution>>>
    evals;
  /// Where reduced gradients are summed: reused, not allocated per step.
  core::reduce_buffers buffers;
};

using aggregator_impl = tapped_stateful<aggregator_actor, aggregator_state>;

/// Reports to the coordinator; the request is answered with the error.
caf::error fail(aggregator_impl* self, int64_t step, std::string what) {
  self->send(self->state.coordinator, actor_failure{"aggregator", step, what});
  return caf::make_error(caf::sec::runtime_error, std::move(what));
}

/// The replicas' buffers averaged in rank order; undefined when none came.
at::Tensor average_buffers(aggregator_impl* self) {
  auto& st = self->state;
  if (!st.slots.front()->buffers.tensor.defined())
    return {};
  // x0 + sum over r of (xr - x0) / R, in rank order: the mean, and exactly
  // x0 where every replica holds the same value (a plain sum / R is not
  // exact for R = 3).
  const auto& first = st.slots.front()->buffers.tensor;
  auto mean = first.clone();
  auto replicas = static_cast<double>(st.slots.size());
  for (size_t r = 1; r < st.slots.size(); ++r) {
    const auto& x = st.slots[r]->buffers.tensor;
    if (!x.defined() || x.sizes() != first.sizes()
        || x.scalar_type() != first.scalar_type())
      throw std::runtime_error(fmt::format("rank {} sent buffers unlike rank "
                                           "0's",
                                           r));
    mean.add_((x - first).div_(replicas));
  }
  return mean;
}

/// Fails the step in progress: reported once, every waiting stepper
/// answered with the error. Returns false, for reduce_step.
bool fail_step(aggregator_impl* self, std::string what) {
  auto err = fail(self, self->state.next_step, std::move(what));
  for (auto& a : self->state.answers)
    a.deliver(err);
  return false;
}

/// Returns false after reporting a failure.
bool reduce_step(aggregator_impl* self) {
  auto& st = self->state;
  std::vector<at::Tensor> grads;
  std::vector<metric_sums> outputs;
  int64_t samples = 0;
  grads.reserve(st.slots.size());
  for (auto& c : st.slots) {
    grads.push_back(c->grad.tensor);
    outputs.push_back(std::move(c->outputs));
    samples += c->samples;
  }
  step_summary summary;
  summary.epoch = st.slots.front()->epoch;
  summary.step = st.next_step;
  summary.samples = samples;
  summary.lr = st.slots.front()->lr;
  summary.reduced = core::reduce_in_rank_order(outputs);
  summary.per_replica = std::move(outputs);
  reduced_gradient reduced{st.next_step, tensor_payload{st.buffers.sum(grads)},
                           tensor_payload{}};
  // A non-finite loss reaches the reduction only from steppers told to
  // skip such steps (--on-nonfinite-loss=skip-step; otherwise the stepper
  // fails first): nobody applies this step.
  for (const auto& m : summary.reduced)
    if (m.name == "loss" && !std::isfinite(m.sum))
      reduced.skip = summary.skipped = true;
  try {
    if (!reduced.skip)
      reduced.buffers.tensor = average_buffers(self);
  } catch (const std::exception& e) {
    return fail_step(self, e.what());
  }
  if (st.clip_grad_norm && !reduced.skip) {
    auto& g = reduced.grad.tensor;
    auto norm = at::linalg_vector_norm(g, 2, c10::nullopt, false, at::kDouble)
                  .item<double>();
    if (!std::isfinite(norm))
      return fail_step(self,
                       fmt::format("the reduced gradient of step {} has a "
                                   "non-finite norm ({}); it cannot be clipped",
                                   st.next_step, norm));
    for (const auto& m : summary.reduced)
      if (m.name == "grad_norm")
        return fail_step(self,
                         "the model's step function returned a metric named "
                         "'grad_norm'; with --clip-grad-norm troupe logs the "
                         "gradient's norm under that name");
    auto coef = *st.clip_grad_norm / (norm + 1e-6);
    if (coef < 1) {
      // One replica: the tensor is that stepper's buffer, which a message
      // must not change; several: this actor's own sum.
      if (grads.size() == 1)
        g = g * coef;
      else
        g.mul_(coef);
    }
    auto n = static_cast<double>(samples);
    summary.reduced.push_back({"grad_norm", norm * n, n});
  }
  for (auto& s : st.slots)
    s.reset();
  // Delivery order is scheduling, not semantics (every stepper gets the same
  // tensor): a worker runs the actors it wakes last-in first-out, and an idle
  // worker steals the oldest. The stepper whose contribution completed the
  // step ran on this worker a moment ago, its replica hot in this core's
  // cache: it goes last, so it runs next, here. The other steppers go first,
  // where idle workers steal them; the summary for the coordinator sits in
  // between and waits for whichever worker comes free.
  auto home = static_cast<size_t>(st.last_rank);
  for (size_t r = 0; r < st.answers.size(); ++r)
    if (r != home)
      st.answers[r].deliver(reduced);
  self->send(st.coordinator, std::move(summary));
  st.answers[home].deliver(reduced);
  ++st.next_step;
  return true;
}

aggregator_actor::behavior_type
aggregator(aggregator_impl* self, int32_t replicas,
           summary_sink_actor coordinator, inbound_tap tap,
           std::optional<double> clip_grad_norm, int64_t first_step) {
  self->tap("aggregator", std::move(tap));
  auto& st = self->state;
  st.next_step = first_step;
  st.replicas = replicas;
  st.clip_grad_norm = clip_grad_norm;
  st.coordinator = std::move(coordinator);
  st.slots.resize(static_cast<size_t>(replicas));
  st.answers.resize(static_cast<size_t>(replicas));
  return {
    [=](contribution& c) -> caf::result<reduced_gradient> {
      auto& st = self->state;
      if (c.rank < 0 || c.rank >= st.replicas)
        return fail(self, c.step,
                    fmt::format("contribution from rank {} of {} replicas",
                                c.rank, st.replicas));
      if (c.step != st.next_step)
        return fail(self, c.step,
                    fmt::format("stale or early contribution from rank {} for "
                                "step {} (expected step {})",
                                c.rank, c.step, st.next_step));
      auto& slot = st.slots[static_cast<size_t>(c.rank)];
      if (slot)
        return fail(self, c.step,
                    fmt::format("duplicate contribution from rank {} for step "
                                "{}",
                                c.rank, c.step));
      auto answer = self->make_response_promise<reduced_gradient>();
      st.answers[static_cast<size_t>(c.rank)] = answer;
      st.last_rank = c.rank;
      slot = std::move(c);
      for (const auto& s : st.slots)
        if (!s)
          return answer;
      reduce_step(self);
      return answer;
    },
    [=](eval_contribution& c) {
      auto& st = self->state;
      if (c.rank < 0 || c.rank >= st.replicas) {
        fail(self, c.step,
             fmt::format("evaluation from rank {} of {} replicas", c.rank,
                         st.replicas));
        return;
      }
      auto& slots = st.evals[{c.kind, c.step}];
      slots.resize(static_cast<size_t>(st.replicas));
      auto& slot = slots[static_cast<size_t>(c.rank)];
      if (slot) {
        fail(self, c.step,
             fmt::format("duplicate evaluation from rank {}", c.rank));
        return;
      }
      slot = std::move(c);
      for (const auto& s : slots)
        if (!s)
          return;
      eval_summary summary;
      summary.kind = slots.front()->kind;
      summary.step = slots.front()->step;
      std::vector<metric_sums> outputs;
      for (auto& s : slots) {
        outputs.push_back(std::move(s->outputs));
        summary.param_digests.push_back(s->param_digest);
      }
      summary.reduced = core::reduce_in_rank_order(outputs);
      st.evals.erase({summary.kind, summary.step});
      self->send(st.coordinator, std::move(summary));
    },
  };
}

} // namespace

aggregator_actor
spawn_aggregator(caf::actor_system& sys, int32_t replicas,
                 summary_sink_actor coordinator, inbound_tap tap,
                 std::optional<double> clip_grad_norm, int64_t first_step) {
  return sys.spawn(aggregator, replicas, std::move(coordinator), std::move(tap),
                   clip_grad_norm, first_step);
}

} // namespace troupe::actors
