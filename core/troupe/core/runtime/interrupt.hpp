#pragma once

// Ctrl-C and SIGTERM during a fit: the first signal asks the coordinator to
// stop after the current step (logs flushed, summary written, status
// "stopped"); a second one gets the default behaviour.

namespace troupe::core {

/// True once SIGINT or SIGTERM arrived while an interrupt_scope was alive.
bool interrupt_requested() noexcept;

/// Installs the handlers for its lifetime and clears the flag on entry.
class interrupt_scope {
public:
  interrupt_scope();
  ~interrupt_scope();

  interrupt_scope(const interrupt_scope&) = delete;
  interrupt_scope& operator=(const interrupt_scope&) = delete;
};

} // namespace troupe::core
