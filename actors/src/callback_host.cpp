#include "troupe/actors/callback_host.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include "troupe/messages/type_ids.hpp"

namespace troupe::actors {

namespace {

template <class F>
callback_effects
guarded(const core::callback& cb, const char* event, int64_t step, F f) {
  try {
    return f();
  } catch (const std::exception& e) {
    callback_effects result;
    result.error = fmt::format("callback '{}' threw in {} at step {}: {}",
                               cb.name(), event, step, e.what());
    return result;
  } catch (...) {
    callback_effects result;
    result.error = fmt::format("callback '{}' threw in {} at step {}",
                               cb.name(), event, step);
    return result;
  }
}

callback_actor::behavior_type callback_host(tapped<callback_actor::base>* self,
                                            core::callback_ptr cb,
                                            inbound_tap tap) {
  self->tap("callback:" + cb->name(), std::move(tap));
  return {
    [cb](const fit_start_event& e) {
      return guarded(*cb, "on_fit_start", 0, [&] {
        return cb->on_fit_start(e);
      });
    },
    [cb](const train_step_end_event& e) {
      return guarded(*cb, "on_train_step_end", e.step, [&] {
        return cb->on_train_step_end(e);
      });
    },
    [cb](const validation_end_event& e) {
      return guarded(*cb, "on_validation_end", e.step, [&] {
        return cb->on_validation_end(e);
      });
    },
    [cb](const epoch_end_event& e) {
      return guarded(*cb, "on_epoch_end", e.step, [&] {
        return cb->on_epoch_end(e);
      });
    },
    [cb](const fit_end_event& e) {
      return guarded(*cb, "on_fit_end", e.step, [&] {
        return cb->on_fit_end(e);
      });
    },
    [cb](const checkpoint_request& r) -> caf::result<std::string> {
      try {
        return cb->save_state();
      } catch (const std::exception& e) {
        return caf::make_error(caf::sec::runtime_error,
                               fmt::format("callback '{}' threw in save_state "
                                           "at step {}: {}",
                                           cb->name(), r.step, e.what()));
      }
    },
  };
}

} // namespace

callback_actor spawn_callback_host(caf::actor_system& sys,
                                   core::callback_ptr cb, inbound_tap tap) {
  return sys.spawn(callback_host, std::move(cb), std::move(tap));
}

} // namespace troupe::actors
