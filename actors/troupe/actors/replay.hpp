#pragma once

// The replay harness: feeds a recorded trace into a fresh actor of the
// recorded kind, under CAF's deterministic test scheduler, and collects what
// the actor sends.
//
//   caf::actor_system sys{cfg};            // scheduler.policy = testing
//   troupe::actors::replay_session replay{sys};
//   auto agg = troupe::actors::spawn_aggregator(sys, 2, replay.harness());
//   auto out = replay.run(agg, run_dir + "/trace/aggregator.trace");
//   // out.messages: every reduced_gradient and step_summary, in order
//
// Async records are sent and request records requested from the harness.
// The replayed actor's peers are the harness or named peers (`peer()`):
// they collect what they receive and never answer by themselves. When the
// trace holds a response (the recorded actor asked someone, e.g. the
// coordinator asking the logger), the replay answers the replayed actor's
// request with the same request ID with the recorded response, at the
// recorded point: the coordinator is replayed like any other actor.
// System messages (exit, down) in the trace are not replayed.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

namespace troupe::actors {

struct replay_output {
  /// Everything the replayed actor sent to the harness and the peers
  /// (responses included), in the order they received it.
  std::vector<caf::message> messages;
  /// The same, by receiver: "harness" or the peer's name.
  std::map<std::string, std::vector<caf::message>> by_peer;
  /// Records fed into the actor (recorded responses included), and records
  /// skipped (system messages; responses of version 1 traces).
  size_t replayed = 0;
  size_t skipped = 0;
  /// Divergence: recorded responses to requests the replayed actor did not
  /// make, and requests it made that the trace never answered.
  size_t unmatched_responses = 0;
  size_t unanswered_requests = 0;
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

  /// A named stand-in for one peer of the replayed actor (e.g. "logger",
  /// "stepper[1]"); what it receives shows under its name in `by_peer`.
  /// The same name gives the same actor.
  caf::actor peer(const std::string& name);

  /// The harness and a stand-in as typed handles, for an actor whose peers
  /// have one of the interfaces of actors.hpp (unchecked: the stand-ins
  /// collect whatever they receive).
  template <class Handle>
  Handle harness_as() const {
    return caf::actor_cast<Handle>(harness_);
  }

  template <class Handle>
  Handle peer_as(const std::string& name) {
    return caf::actor_cast<Handle>(peer(name));
  }

  /// Replays every record of `trace_path` into `target`, running the
  /// scheduler after each, then stops `target`. Throws
  /// std::invalid_argument when the trace holds tensor digests where the
  /// target would compute with values (a `--trace-tensors=digest` trace of
  /// an aggregator or stepper), and core::trace_error on a corrupt trace.
  replay_output run(const caf::actor& target, const std::string& trace_path);

  /// The same for a typed actor.
  template <class Handle>
  replay_output run(const Handle& target, const std::string& trace_path) {
    return run(caf::actor_cast<caf::actor>(target), trace_path);
  }

  struct state;

private:
  caf::actor_system& sys_;
  std::shared_ptr<state> state_;
  caf::actor harness_;
  std::map<std::string, caf::actor> peers_;
};

} // namespace troupe::actors
