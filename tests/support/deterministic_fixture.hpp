#pragma once

// An actor system under CAF's deterministic test scheduler, for Catch2
// (mirrors CAF's test_coordinator_fixture without caf/test/dsl.hpp).

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "troupe/messages/type_ids.hpp"

namespace troupe::test {

struct deterministic_config : caf::actor_system_config {
  deterministic_config() {
    set("scheduler.policy", caf::atom("testing"));
    set("logger.verbosity", caf::atom("quiet"));
    set("logger.console", caf::atom("none"));
    add_message_types<caf::id_block::troupe>();
  }
};

struct deterministic_fixture {
  deterministic_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched{
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())};

  ~deterministic_fixture() {
    // Without this, a failed REQUIRE leaves jobs queued and
    // ~actor_system() hangs.
    sched.run();
  }
};

} // namespace troupe::test
