#pragma once

#include <functional>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/mailbox_element.hpp>

namespace troupe::actors {

/// Sees every message delivered to a troupe actor (its name first), in
/// delivery order, right before the actor handles it; runs on the actor's
/// own thread. System messages (exit, down) are delivered messages too.
using inbound_tap =
  std::function<void(const std::string& actor, const caf::mailbox_element&)>;

/// The base of every troupe actor: an event-based actor whose inbound
/// messages can be tapped (tracing and replay build on it).
class tapped_actor : public caf::event_based_actor {
public:
  explicit tapped_actor(caf::actor_config& cfg);

  /// Installs `f` under `name`; call from the actor's behavior factory.
  void tap(std::string name, inbound_tap f);

  caf::invoke_message_result consume(caf::mailbox_element& x) override;

private:
  std::string tap_name_;
  inbound_tap tap_;
};

} // namespace troupe::actors
