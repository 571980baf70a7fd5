#include "troupe/actors/loader.hpp"

#include <caf/all.hpp>
#include <torch/torch.h>

#include "troupe/messages/type_ids.hpp"

namespace troupe::actors {

namespace {

struct loader_state {
  static inline const char* name = "loader";

  loader_config cfg;
  int64_t next_step = 1;
  int64_t epoch = -1;
  at::Tensor order;
};

using loader_impl = tapped_stateful<loader_actor, loader_state>;

step_batch make_batch(loader_state& st, int64_t step, int32_t rank) {
  const auto& s = st.cfg.sched;
  const auto& data = *st.cfg.train;
  step_batch b;
  b.epoch = s.epoch_of(step);
  b.step = step;
  b.rank = rank;
  b.micro.reserve(static_cast<size_t>(s.accumulate));
  for (int64_t m = 0; m < s.accumulate; ++m) {
    auto first = s.first_sample(step, rank, m);
    micro_batch mb;
    if (st.cfg.shuffle) {
      auto idx = st.order.slice(0, first, first + s.batch_size);
      mb.inputs.tensor = data.inputs.index_select(0, idx);
      mb.targets.tensor = data.targets.index_select(0, idx);
    } else {
      // Without shuffling a micro-batch is a contiguous slice: no copy.
      mb.inputs.tensor = data.inputs.slice(0, first, first + s.batch_size);
      mb.targets.tensor = data.targets.slice(0, first, first + s.batch_size);
    }
    if (st.cfg.augment.enabled())
      mb.inputs.tensor = core::augment_batch(
        mb.inputs.tensor, st.cfg.augment,
        core::augment_key{st.cfg.seed, b.epoch, step, rank, m});
    b.micro.push_back(std::move(mb));
  }
  return b;
}

loader_actor::behavior_type loader(loader_impl* self, loader_config cfg) {
  self->state.cfg = std::move(cfg);
  self->state.next_step = self->state.cfg.first_step;
  self->tap("loader", self->state.cfg.tap);
  return {
    [=](const step_permit& p) {
      auto& st = self->state;
      for (; st.next_step <= p.last_step; ++st.next_step) {
        auto epoch = st.cfg.sched.epoch_of(st.next_step);
        if (epoch != st.epoch) {
          st.epoch = epoch;
          st.order = core::epoch_order(st.cfg.train->size(), st.cfg.seed, epoch,
                                       st.cfg.shuffle);
        }
        for (size_t r = 0; r < st.cfg.steppers.size(); ++r)
          self->send(st.cfg.steppers[r],
                     make_batch(st, st.next_step, static_cast<int32_t>(r)));
      }
    },
  };
}

} // namespace

loader_actor spawn_loader(caf::actor_system& sys, loader_config cfg) {
  return sys.spawn(loader, std::move(cfg));
}

} // namespace troupe::actors
