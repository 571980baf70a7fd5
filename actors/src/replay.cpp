#include "troupe/actors/replay.hpp"

#include <deque>
#include <memory>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "troupe/actors/tap.hpp"
#include "troupe/core/trace_format.hpp"
#include "troupe/messages/type_ids.hpp"

namespace troupe::actors {

namespace {

struct replay_cmd {
  caf::actor target;
  caf::message content;
  bool request = false;
};

struct harness_state {
  std::vector<caf::message> received;
  std::deque<replay_cmd> pending;
};

using harness_actor = caf::stateful_actor<harness_state, tapped_actor>;

/// Sends the pending command's record to the target. A request goes out
/// with a fresh request ID and the harness as sender; its response comes
/// back as a response without a handler, which the tap (it sees every
/// delivered message) records before CAF drops it.
caf::behavior harness_behavior(harness_actor* self) {
  // Whatever the replayed actor sends is recorded by the tap, then dropped.
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::message{};
    });
  self->tap("replay harness", [self](const std::string&,
                                     const caf::mailbox_element& x) {
    if (x.content().match_elements<replay_atom>())
      return;
    self->state.received.push_back(x.copy_content_to_message());
  });
  return {
    [=](replay_atom) {
      auto cmd = std::move(self->state.pending.front());
      self->state.pending.pop_front();
      auto mid = cmd.request
                   ? self->new_request_id(caf::message_priority::normal)
                   : caf::make_message_id();
      cmd.target->enqueue(
        caf::make_mailbox_element(caf::actor_cast<caf::strong_actor_ptr>(self),
                                  mid, {}, std::move(cmd.content)),
        self->context());
    },
  };
}

caf::scheduler::test_coordinator& test_scheduler(caf::actor_system& sys) {
  auto* sched = dynamic_cast<caf::scheduler::test_coordinator*>(&sys.scheduler());
  if (sched == nullptr)
    throw std::logic_error("replay_session needs scheduler.policy=testing");
  return *sched;
}

} // namespace

replay_session::replay_session(caf::actor_system& sys) : sys_(sys) {
  test_scheduler(sys_);
  harness_ = sys_.spawn(harness_behavior);
  test_scheduler(sys_).run();
}

replay_session::~replay_session() {
  caf::anon_send_exit(harness_, caf::exit_reason::user_shutdown);
  test_scheduler(sys_).run();
}

replay_output replay_session::run(const caf::actor& target,
                                  const std::string& trace_path) {
  auto& sched = test_scheduler(sys_);
  auto* h = dynamic_cast<harness_actor*>(
    caf::actor_cast<caf::abstract_actor*>(harness_));
  h->state.received.clear();
  replay_output out;
  core::trace_reader reader{sys_, trace_path};
  core::trace_entry e;
  while (reader.next(e)) {
    bool system = e.content.match_elements<caf::exit_msg>()
                  || e.content.match_elements<caf::down_msg>();
    if (e.kind == core::trace_kind::response || system) {
      ++out.skipped;
      continue;
    }
    // Nothing runs between here and sched.run(): the test scheduler is
    // single-threaded, so the harness state can be filled directly.
    h->state.pending.push_back(
      replay_cmd{target, e.content, e.kind == core::trace_kind::request});
    caf::anon_send(harness_, replay_atom_v);
    sched.run();
    ++out.replayed;
  }
  caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
  sched.run();
  out.messages = std::move(h->state.received);
  return out;
}

} // namespace troupe::actors
