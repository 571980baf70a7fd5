#pragma once

// Ctrl-C and SIGTERM during a fit: the first signal asks the fit to stop at
// the next point it can (after the current step in training, at once in the
// test pass; logs flushed, summary written, status "stopped"); a second one
// gets the default behaviour. The handler only writes a byte to a pipe; a
// watcher thread turns it into a call of `on_signal` (which sends the
// coordinator a message), so a signal is seen even while no other message
// moves.

#include <functional>
#include <mutex>
#include <thread>

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

  /// Calls `f` (on the watcher thread) when the first signal arrives, or at
  /// once when one arrived already. Set at most once per scope.
  void on_signal(std::function<void()> f);

private:
  int pipe_[2] = {-1, -1};
  std::mutex mutex_; ///< guards callback_
  std::function<void()> callback_;
  std::thread watcher_;
};

} // namespace troupe::core
