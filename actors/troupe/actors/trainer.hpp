#pragma once

#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "troupe/actors/fwd.hpp"
#include "troupe/core/config/options.hpp"
#include "troupe/core/data/datasets.hpp"
#include "troupe/core/train/callback.hpp"
#include "troupe/core/train/model.hpp"
#include "troupe/messages/step.hpp"

namespace troupe {

/// The facade: validates the options, prepares the run directory, builds
/// bit-identical replicas, starts an actor system, spawns the logger, one
/// callback_host per callback and the coordinator (which spawns loader,
/// aggregator and steppers), and waits for the fit to end.
class trainer {
public:
  /// `name` picks the default run directory runs/<name>/version_<N>.
  explicit trainer(core::trainer_options opts, std::string name = "troupe");

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

  /// What a fit on `train_size` samples will do: steps, the remainder that
  /// does not fill a global batch (dropped), and what computes (BLAS, its
  /// kernel, intra-op threads). Throws config_error.
  std::vector<std::string> plan(int64_t train_size) const;

  /// Intra-op threads each replica's step uses: the option, or when it is
  /// 0 the cores shared among the replicas.
  int64_t intra_op_threads() const;

  /// The run directory of the last fit (resolved when none was given).
  const std::string& run_dir() const noexcept {
    return run_dir_;
  }

  const core::trainer_options& options() const noexcept {
    return opts_;
  }

private:
  core::trainer_options opts_;
  std::string name_;
  std::string run_dir_;
  std::vector<core::callback_ptr> callbacks_;
  actors::spawn_hook on_spawn_;
  actors::inbound_tap tap_;
  std::function<void(caf::actor_system_config&)> configure_;
};

} // namespace troupe
