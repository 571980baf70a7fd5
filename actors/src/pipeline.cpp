#include "troupe/actors/pipeline.hpp"

#include <caf/all.hpp>

#include "troupe/actors/aggregator.hpp"
#include "troupe/actors/loader.hpp"
#include "troupe/actors/stepper.hpp"
#include "troupe/core/data/augment.hpp"

namespace troupe::actors {

pipeline_handles spawn_pipeline(caf::actor_system& sys,
                                const coordinator_config& cfg,
                                coordinator_actor coordinator) {
  pipeline_handles p;
  auto first_step = cfg.resume ? cfg.resume->step + 1 : 1;
  p.aggregator = spawn_aggregator(sys, static_cast<int32_t>(cfg.sched.replicas),
                                  coordinator, cfg.tap,
                                  cfg.options.clip_grad_norm, first_step);
  auto data = cfg.data;
  for (int64_t r = 0; r < cfg.sched.replicas; ++r) {
    stepper_config sc;
    sc.rank = static_cast<int32_t>(r);
    sc.seed = cfg.options.seed;
    sc.sched = cfg.sched;
    sc.module = cfg.replicas[static_cast<size_t>(r)];
    sc.model = cfg.model;
    sc.make_optimizer = cfg.optimizer;
    sc.lr_at = cfg.lr_schedule;
    sc.device = cfg.options.device;
    sc.data = data;
    sc.eval_batch_size = cfg.options.eval_batch_size;
    sc.skip_nonfinite = cfg.options.on_nonfinite_loss == "skip-step";
    sc.export_dir = cfg.options.export_params;
    sc.aggregator = p.aggregator;
    sc.coordinator = coordinator;
    sc.tap = cfg.tap;
    sc.checkpointer = cfg.checkpointer;
    sc.checkpoint_every = cfg.options.checkpoint_every_n_steps;
    sc.checkpoint_validations = !cfg.options.checkpoint_monitor.empty();
    sc.resume = cfg.resume;
    sc.resume_file = cfg.resume_file;
    p.steppers.push_back(spawn_stepper(sys, std::move(sc)));
  }
  loader_config lc;
  lc.sched = cfg.sched;
  lc.train = std::shared_ptr<const core::tensor_dataset>(data, &data->train);
  lc.seed = cfg.options.seed;
  lc.shuffle = cfg.options.shuffle;
  lc.augment = core::parse_augment(cfg.options.augment);
  lc.steppers = p.steppers;
  lc.first_step = first_step;
  lc.tap = cfg.tap;
  p.loader = spawn_loader(sys, std::move(lc));
  return p;
}

} // namespace troupe::actors
