#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "troupe/actors/fwd.hpp"
#include "troupe/core/config/options.hpp"
#include "troupe/core/data/datasets.hpp"
#include "troupe/core/train/callback.hpp"
#include "troupe/core/train/lr_schedule.hpp"
#include "troupe/core/train/model.hpp"
#include "troupe/core/train/optimizer.hpp"
#include "troupe/messages/step.hpp"

namespace troupe {

/// What trainer::evaluate measured: the validation and test metrics of
/// the given parameters, reduced over replicas like a fit's.
struct evaluation {
  /// Empty when both evaluations ran; else what failed (naming the actor).
  std::string error;
  metric_values val;  ///< val/loss, val/acc, ...
  metric_values test; ///< test/loss, test/acc, ...
};

/// The facade: validates the options, prepares the run directory, builds
/// bit-identical replicas, starts an actor system, spawns the logger, one
/// callback_host per callback and the coordinator (which spawns loader,
/// aggregator and steppers), and waits for the fit to end.
class trainer {
public:
  /// `name` picks the default run directory runs/<name>/version_<N>. The
  /// options keep what they set; the chosen optimizer's defaults fill the
  /// optimizer options left unset (core::with_optimizer_defaults).
  explicit trainer(core::trainer_options opts, std::string name = "troupe");

  /// Trains with the optimizers `f` builds (one per replica) instead of the
  /// one the options name; --optimizer and its options are then unused.
  trainer& optimizer(core::optimizer_factory f);

  /// Sets the learning rate of every update to `f(step)` instead of the
  /// options' --lr-schedule. Groups after the first keep their ratio to it.
  trainer& lr_schedule(core::lr_schedule f);

  /// Adds a callback; effects apply in the order callbacks were added.
  trainer& add_callback(core::callback_ptr cb);

  /// Called for every spawned actor (tests, tracing).
  trainer& on_spawn(actors::spawn_hook hook);

  /// Sees every message delivered to every actor of the fit, per actor in
  /// delivery order (the seam tracing records through).
  trainer& tap(actors::inbound_tap f);

  /// Adjusts the actor system's configuration (e.g. scheduler policy).
  trainer& configure(std::function<void(caf::actor_system_config&)> f);

  /// Trains, validates and tests. Throws core::config_error or
  /// core::output_error before training starts; failures during training
  /// come back as a report with status "failed" and the error.
  fit_report fit(const core::model_def& model, const core::data_module& data);

  /// Evaluates `module` (or, when null, a module `model.make()` builds
  /// from the seed) on `data.val` and `data.test` through the fit's actors:
  /// one stepper per replica on its shard, the aggregator reducing in rank
  /// order. Nothing trains and nothing is written. Throws config_error.
  evaluation evaluate(const core::model_def& model,
                      const core::data_module& data,
                      std::shared_ptr<torch::nn::Module> module = nullptr);

  /// The outputs of `module` for `inputs` (model.forward in evaluation
  /// mode, no gradients, eval-batch-size samples at a time), in input
  /// order. Throws std::invalid_argument when the model has no forward.
  at::Tensor predict(const core::model_def& model, torch::nn::Module& module,
                     const at::Tensor& inputs) const;

  /// What a fit on `train_size` samples will do: steps, the remainder that
  /// does not fill a global batch (dropped), and what computes (BLAS, its
  /// kernel, intra-op threads). Throws config_error.
  std::vector<std::string> plan(int64_t train_size) const;

  /// Intra-op threads each replica's step uses: the option, or when it is
  /// 0 the cores shared among the replicas.
  int64_t intra_op_threads() const;

  /// The trained module of the last fit (replica 0, every replica being
  /// bit-identical); null before the first fit.
  std::shared_ptr<torch::nn::Module> model() const noexcept {
    return model_;
  }

  /// The run directory of the last fit (resolved when none was given).
  const std::string& run_dir() const noexcept {
    return run_dir_;
  }

  const core::trainer_options& options() const noexcept {
    return opts_;
  }

private:
  /// The actor system's settings for a fit or an evaluation.
  void system_config(caf::actor_system_config& cfg) const;

  core::trainer_options opts_;
  std::string name_;
  std::string run_dir_;
  std::vector<core::callback_ptr> callbacks_;
  core::optimizer_factory optimizer_;
  core::lr_schedule lr_schedule_;
  std::shared_ptr<torch::nn::Module> model_;
  actors::spawn_hook on_spawn_;
  actors::inbound_tap tap_;
  std::function<void(caf::actor_system_config&)> configure_;
};

} // namespace troupe
