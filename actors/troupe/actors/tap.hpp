#pragma once

#include <functional>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/stateful_actor.hpp>

namespace troupe::actors {

/// Sees every message delivered to a troupe actor (its name first), in
/// delivery order, right before the actor handles it; runs on the actor's
/// own thread. System messages (exit, down) are delivered messages too.
using inbound_tap
  = std::function<void(const std::string& actor, const caf::mailbox_element&)>;

/// The base of every troupe actor: `Base` (an event-based actor, typed or
/// not) whose inbound messages can be tapped (tracing and replay build on
/// it). CAF 0.17's `scheduled_actor::consume` is virtual: every message,
/// typed or not, passes here.
template <class Base>
class tapped : public Base {
public:
  explicit tapped(caf::actor_config& cfg) : Base(cfg) {
    // nop
  }

  /// Installs `f` under `name`; call from the actor's behavior factory.
  void tap(std::string name, inbound_tap f) {
    tap_name_ = std::move(name);
    tap_ = std::move(f);
  }

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    if (tap_)
      tap_(tap_name_, x);
    return Base::consume(x);
  }

private:
  std::string tap_name_;
  inbound_tap tap_;
};

/// A dynamically typed tapped actor (replay stand-ins, tests).
using tapped_actor = tapped<caf::event_based_actor>;

/// The implementation type of a tapped, stateful actor with interface
/// `Handle` (one of actors.hpp) and state `State`.
template <class Handle, class State>
using tapped_stateful
  = caf::stateful_actor<State, tapped<typename Handle::base>>;

} // namespace troupe::actors
