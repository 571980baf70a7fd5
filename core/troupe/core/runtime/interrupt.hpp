#pragma once

// Ctrl-C and SIGTERM during a fit: the first signal asks the fit to stop at
// the next point it can (after the current step in training, at once in the
// test pass; logs flushed, summary written, status "stopped"); a second one
// gets the default behaviour. The handler only writes a byte to a pipe that
// lives as long as the process; one watcher thread turns it into calls of
// every live scope's `on_signal` callback (which sends its coordinator a
// message), so a signal is seen even while no other message moves, and by
// every fit of the process.

#include <cstdint>
#include <functional>

namespace troupe::core {

/// True once SIGINT or SIGTERM arrived while an interrupt_scope was alive.
bool interrupt_requested() noexcept;

/// The signal that asked for the stop (SIGINT or SIGTERM); 0 when none.
int interrupt_signal() noexcept;

/// Installs the handlers while at least one scope is alive (the first one
/// clears the flag; the last one puts the previous handlers back). Throws
/// std::system_error when the process's signal pipe cannot be made.
class interrupt_scope {
public:
  interrupt_scope();
  ~interrupt_scope();

  interrupt_scope(const interrupt_scope&) = delete;
  interrupt_scope& operator=(const interrupt_scope&) = delete;

  /// Calls `f` (on the watcher thread) when the first signal arrives, or
  /// soon when one arrived already. An empty `f` removes the callback; once
  /// that returns, the previous one is not running and will not run.
  void on_signal(std::function<void()> f);

private:
  uint64_t id_;
};

} // namespace troupe::core
