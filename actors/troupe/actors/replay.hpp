#pragma once

// The replay harness: feeds a recorded trace into a fresh actor of the
// recorded kind, under CAF's deterministic test scheduler, and collects what
// the actor sends back.
//
//   troupe::test-style use (see tests/replay/):
//     caf::actor_system sys{cfg};            // scheduler.policy = testing
//     troupe::actors::replay_session replay{sys};
//     auto agg = troupe::actors::spawn_aggregator(sys, 2, replay.harness());
//     auto out = replay.run(agg, run_dir + "/trace/aggregator.trace");
//     // out.messages: every reduced_gradient and step_summary, in order
//
// Async records are sent and request records requested (their responses
// are collected too), all from one harness actor; responses and system
// messages (exit, down) in the trace are not replayed: their request IDs
// and senders belonged to the recorded run.

#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

namespace troupe::actors {

struct replay_output {
  /// Everything the replayed actor sent to the harness (responses included),
  /// in the order the harness received it.
  std::vector<caf::message> messages;
  /// Records fed into the actor, and records skipped (responses, system).
  size_t replayed = 0;
  size_t skipped = 0;
};

class replay_session {
public:
  /// `sys` must run the deterministic test scheduler.
  explicit replay_session(caf::actor_system& sys);
  ~replay_session();

  replay_session(const replay_session&) = delete;
  replay_session& operator=(const replay_session&) = delete;

  /// The actor that sends the records and collects replies: hand it to the
  /// replayed actor wherever the recorded run had its peers.
  const caf::actor& harness() const noexcept {
    return harness_;
  }

  /// Replays every record of `trace_path` into `target`, running the
  /// scheduler after each, then stops `target`.
  replay_output run(const caf::actor& target, const std::string& trace_path);

private:
  caf::actor_system& sys_;
  caf::actor harness_;
};

} // namespace troupe::actors
