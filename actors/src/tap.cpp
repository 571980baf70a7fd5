#include "troupe/actors/tap.hpp"

namespace troupe::actors {

tapped_actor::tapped_actor(caf::actor_config& cfg) : event_based_actor(cfg) {
  // nop
}

void tapped_actor::tap(std::string name, inbound_tap f) {
  tap_name_ = std::move(name);
  tap_ = std::move(f);
}

caf::invoke_message_result tapped_actor::consume(caf::mailbox_element& x) {
  if (tap_)
    tap_(tap_name_, x);
  return event_based_actor::consume(x);
}

} // namespace troupe::actors
