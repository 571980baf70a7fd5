#include "troupe/actors/trace_recorder.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <fmt/format.h>

namespace troupe::actors {

trace_recorder::trace_recorder(caf::actor_system& sys, std::string dir,
                               std::vector<std::string> selection,
                               core::trace_tensors tensors)
    : sys_(sys), dir_(std::move(dir)), selection_(std::move(selection)),
      types_(core::troupe_type_names()), tensors_(tensors) {
  // nop
}

const std::vector<std::string>& trace_recorder::kinds() {
  static const std::vector<std::string> xs{
    "coordinator", "logger", "aggregator", "loader", "stepper", "callback"};
  return xs;
}

bool trace_recorder::selected(const std::string& actor) const {
  for (const auto& s : selection_) {
    if (s == "all" || actor == s)
      return true;
    if ((s == "stepper" || s == "callback") && actor.rfind(s, 0) == 0)
      return true;
  }
  return false;
}

std::string trace_recorder::file_name(const std::string& actor) {
  std::string out;
  for (char c : actor) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
      || (c >= '0' && c <= '9') || c == '_' || c == '.';
    out += plain ? c : '-';
  }
  while (!out.empty() && out.back() == '-')
    out.pop_back();
  return out + ".trace";
}

core::trace_writer* trace_recorder::writer(const std::string& actor) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = writers_.find(actor);
  if (i != writers_.end())
    return i->second.get();
  std::unique_ptr<core::trace_writer> w;
  try {
    w = std::make_unique<core::trace_writer>(
      sys_, dir_ + "/" + file_name(actor), actor, types_, tensors_);
  } catch (const std::exception& e) {
    errors_.push_back(e.what());
  }
  return writers_.emplace(actor, std::move(w)).first->second.get();
}

inbound_tap trace_recorder::tap() {
  return [this](const std::string& actor, const caf::mailbox_element& x) {
    if (!selected(actor))
      return;
    auto w = writer(actor);
    if (w == nullptr)
      return;
    auto kind = x.mid.is_response() ? core::trace_kind::response
      : x.mid.is_request()          ? core::trace_kind::request
                                    : core::trace_kind::async;
    uint64_t sender = x.sender ? x.sender->id() : 0;
    try {
      w->append(kind, sender, x.mid.integer_value(),
                x.copy_content_to_message());
    } catch (const std::exception& e) {
      // Report once and stop recording this actor; training goes on.
      std::lock_guard<std::mutex> guard{mtx_};
      errors_.push_back(e.what());
      writers_[actor].reset();
    }
  };
}

std::vector<std::string> trace_recorder::close() {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [actor, w] : writers_) {
    if (!w)
      continue;
    try {
      w->close();
    } catch (const std::exception& e) {
      errors_.push_back(e.what());
    }
  }
  return errors_;
}

} // namespace troupe::actors
