#pragma once

// A plain actor system with troupe's type-ID block: enough to serialize and
// deserialize messages and read traces.

#include <caf/all.hpp>

#include "troupe/messages/type_ids.hpp"

namespace troupe::test {

struct system_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;

  static caf::actor_system_config& prepare(caf::actor_system_config& cfg) {
    cfg.add_message_types<caf::id_block::troupe>();
    cfg.set("logger.verbosity", caf::atom("quiet"));
    cfg.set("logger.console", caf::atom("none"));
    return cfg;
  }

  system_fixture() : sys(prepare(cfg)) {}
};

} // namespace troupe::test
