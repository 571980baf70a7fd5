#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "troupe/actors/tap.hpp"
#include "troupe/core/trace/trace_format.hpp"

namespace troupe::actors {

/// Records every message delivered to the selected actors, in delivery
/// order, to `<dir>/<actor>.trace` (see core/trace_format.hpp), through the
/// inbound tap. Recording only reads messages: it cannot change results.
class trace_recorder {
public:
  /// `selection`: actor kinds (coordinator, logger, aggregator, loader,
  /// stepper, callback) or "all".
  /// `tensors`: how gradient tensors are recorded.
  trace_recorder(caf::actor_system& sys, std::string dir,
                 std::vector<std::string> selection,
                 core::trace_tensors tensors = core::trace_tensors::full);

  /// The actor kinds `selection` may name.
  static const std::vector<std::string>& kinds();

  /// True when `actor` (e.g. "stepper[1]") is recorded.
  bool selected(const std::string& actor) const;

  /// The file of `actor`: brackets and other punctuation become '-'.
  static std::string file_name(const std::string& actor);

  /// The tap to install; records selected actors only.
  inbound_tap tap();

  /// Closes every file; returns one line per actor whose trace failed.
  std::vector<std::string> close();

private:
  core::trace_writer* writer(const std::string& actor);

  caf::actor_system& sys_;
  std::string dir_;
  std::vector<std::string> selection_;
  std::vector<std::string> types_;
  core::trace_tensors tensors_;
  std::mutex mtx_;
  std::map<std::string, std::unique_ptr<core::trace_writer>> writers_;
  std::vector<std::string> errors_;
};

} // namespace troupe::actors
