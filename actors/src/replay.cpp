#include "troupe/actors/replay.hpp"

#include <stdexcept>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <fmt/format.h>

#include "troupe/actors/tap.hpp"
#include "troupe/core/trace/detail/trace_types.hpp"
#include "troupe/core/trace/trace_format.hpp"
#include "troupe/messages/type_ids.hpp"

namespace troupe::actors {

struct replay_session::state {
  /// What the harness and the peers received, with the receiver's name.
  std::vector<caf::message> received;
  std::vector<std::string> receivers;
  /// The replayed actor; only its requests wait for recorded responses.
  caf::actor_id target = 0;
  struct request {
    caf::strong_actor_ptr requester;
    caf::strong_actor_ptr peer;
    caf::message_id mid;
  };
  /// Requests of the replayed actor not answered yet, by request ID.
  std::map<uint64_t, request> pending;
};

namespace {

/// The harness and every peer: records what arrives; holds the replayed
/// actor's requests until the trace answers them. Never answers itself.
caf::behavior peer_behavior(tapped_actor* self,
                            std::shared_ptr<replay_session::state> st,
                            std::string name) {
  self->set_default_handler(
    [](caf::scheduled_actor* ptr,
       caf::message_view&) -> caf::result<caf::message> {
      // A request is answered later, from the trace (see run()).
      if (ptr->current_message_id().is_request())
        return caf::delegated<caf::message>{};
      return caf::message{};
    });
  // A replayed coordinator stops its pipeline at the end: stand-ins stay
  // (the session kills them), and the exit shows among what they received.
  self->set_exit_handler([](caf::exit_msg&) {});
  self->tap(
    name, [self, st](const std::string& who, const caf::mailbox_element& x) {
      st->received.push_back(x.copy_content_to_message());
      st->receivers.push_back(who);
      if (x.mid.is_request() && x.sender && x.sender->id() == st->target)
        st->pending[x.mid.request_id().integer_value()]
          = replay_session::state::request{
            x.sender, caf::actor_cast<caf::strong_actor_ptr>(self), x.mid};
    });
  return {
    [](replay_atom) {
      // nop: keeps the behavior non-empty
    },
  };
}

caf::scheduler::test_coordinator& test_scheduler(caf::actor_system& sys) {
  auto* sched
    = dynamic_cast<caf::scheduler::test_coordinator*>(&sys.scheduler());
  if (sched == nullptr)
    throw std::logic_error("replay_session needs scheduler.policy=testing");
  return *sched;
}

} // namespace

replay_session::replay_session(caf::actor_system& sys)
    : sys_(sys), state_(std::make_shared<state>()) {
  test_scheduler(sys_);
  harness_ = sys_.spawn(peer_behavior, state_, std::string{"harness"});
  test_scheduler(sys_).run();
}

replay_session::~replay_session() {
  caf::anon_send_exit(harness_, caf::exit_reason::kill);
  for (auto& [name, p] : peers_)
    caf::anon_send_exit(p, caf::exit_reason::kill);
  test_scheduler(sys_).run();
}

caf::actor replay_session::peer(const std::string& name) {
  auto i = peers_.find(name);
  if (i != peers_.end())
    return i->second;
  auto p = sys_.spawn(peer_behavior, state_, name);
  test_scheduler(sys_).run();
  return peers_.emplace(name, p).first->second;
}

replay_output replay_session::run(const caf::actor& target,
                                  const std::string& trace_path) {
  auto& sched = test_scheduler(sys_);
  auto& st = *state_;
  st.received.clear();
  st.receivers.clear();
  st.pending.clear();
  st.target = target.id();
  auto* h = dynamic_cast<tapped_actor*>(
    caf::actor_cast<caf::abstract_actor*>(harness_));
  auto harness_ptr = caf::actor_cast<caf::strong_actor_ptr>(harness_);
  replay_output out;
  core::trace_reader reader{sys_, trace_path};
  bool digests = reader.header().tensors == "digest";
  core::trace_entry e;
  while (reader.next(e)) {
    bool system = e.content.match_elements<caf::exit_msg>()
      || e.content.match_elements<caf::down_msg>();
    if (system || (e.kind == core::trace_kind::response && e.message_id == 0)) {
      ++out.skipped;
      continue;
    }
    if (auto type = core::detail::digested_message_type(e.content);
        digests && type != nullptr)
      throw std::invalid_argument(fmt::format(
        "{}: record {} ({}) holds tensor digests, not values (recorded with "
        "--trace-tensors=digest): an actor cannot compute with it; record "
        "with --trace-tensors=full to replay it",
        trace_path, e.index, type));
    // Nothing else runs until sched.run(): the test scheduler is
    // single-threaded, so the actors can be fed from here directly.
    if (e.kind == core::trace_kind::response) {
      auto rid = caf::message_id{e.message_id}.request_id().integer_value();
      auto i = st.pending.find(rid);
      if (i == st.pending.end()) {
        ++out.unmatched_responses;
        continue;
      }
      auto req = std::move(i->second);
      st.pending.erase(i);
      req.requester->enqueue(
        caf::make_mailbox_element(req.peer, req.mid.response_id(), {},
                                  std::move(e.content)),
        nullptr);
    } else {
      auto mid = e.kind == core::trace_kind::request
        ? h->new_request_id(caf::message_priority::normal)
        : caf::make_message_id();
      target->enqueue(caf::make_mailbox_element(harness_ptr, mid, {},
                                                std::move(e.content)),
                      nullptr);
    }
    sched.run();
    ++out.replayed;
  }
  out.unanswered_requests = st.pending.size();
  caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
  sched.run();
  for (size_t i = 0; i < st.received.size(); ++i)
    out.by_peer[st.receivers[i]].push_back(st.received[i]);
  out.messages = std::move(st.received);
  st.received.clear();
  st.receivers.clear();
  st.target = 0;
  return out;
}

} // namespace troupe::actors
