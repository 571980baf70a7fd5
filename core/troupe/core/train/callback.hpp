#pragma once

// The callback interface and the built-in callbacks. A callback runs inside
// its own `callback_host` actor: it sees immutable events and answers with
// effects (metrics to log at the event's step, a stop request). It holds no
// handle to the logger, the coordinator or the model.

#include <cstdint>
#include <memory>
#include <string>

#include "troupe/messages/callbacks.hpp"

namespace troupe::core {

class callback {
public:
  virtual ~callback();

  /// Names the callback in errors and traces.
  virtual std::string name() const = 0;

  virtual callback_effects on_fit_start(const fit_start_event& e);
  virtual callback_effects on_train_step_end(const train_step_end_event& e);
  virtual callback_effects on_validation_end(const validation_end_event& e);
  virtual callback_effects on_epoch_end(const epoch_end_event& e);
  virtual callback_effects on_fit_end(const fit_end_event& e);

  /// What the callback learned from the events so far, as bytes a resumed
  /// fit gives back to load_state (a checkpoint holds it); the callback
  /// then answers the later events exactly as if the fit had not stopped.
  /// Asked right after the events of a checkpoint's step. Default: none.
  virtual std::string save_state() const;

  /// Restores what save_state returned, before the fit resumes. Default:
  /// accepts only the empty state (throws std::invalid_argument otherwise).
  virtual void load_state(const std::string& state);
};

using callback_ptr = std::shared_ptr<callback>;

/// Stops when `monitor` (a validation metric) has not improved by more than
/// `min_delta` for `patience` consecutive validations.
class early_stopping : public callback {
public:
  explicit early_stopping(std::string monitor = "val/loss", int patience = 3,
                          double min_delta = 0.0, bool maximize = false);

  std::string name() const override;
  callback_effects on_validation_end(const validation_end_event& e) override;
  std::string save_state() const override;
  void load_state(const std::string& state) override;

private:
  std::string monitor_;
  int patience_;
  double min_delta_;
  bool maximize_;
  bool have_best_ = false;
  double best_ = 0;
  int bad_ = 0;
};

/// Logs the learning rate of each step's update (the `lr` metric's value)
/// as `lr-<optimizer>` (e.g. lr-SGD, lr-AdamW) at every logged step.
class lr_monitor : public callback {
public:
  explicit lr_monitor(std::string optimizer = "SGD");

  std::string name() const override;
  callback_effects on_train_step_end(const train_step_end_event& e) override;

private:
  std::string metric_;
};

/// An exponential moving average of a training metric over optimizer steps
/// (e1 = x1, es = alpha xs + (1 - alpha) e(s-1)), fed with every step's value
/// reduced over micro-batches and replicas, logged at every logged step as
/// `<metric>_ema`. The background article's EMATracker, done right.
class ema_metric : public callback {
public:
  explicit ema_metric(double alpha = 0.02, std::string metric = "train/loss");

  std::string name() const override;
  callback_effects on_train_step_end(const train_step_end_event& e) override;
  std::string save_state() const override;
  void load_state(const std::string& state) override;

private:
  double alpha_;
  std::string metric_;
  bool started_ = false;
  double value_ = 0;
};

} // namespace troupe::core
