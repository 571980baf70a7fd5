#pragma once

// While a fit runs, the logger owns the terminal: text that user code
// (callbacks, model code, libraries) writes to the process's stdout and
// stderr is taken from fds 1 and 2 through a pipe each, cut into whole
// lines, and handed to the logger, which prints them above the progress
// line and into console.log. Each fd has its own pipe and its own
// reassembly, and a line is delivered only when whole (or at the end, when
// what is left has no newline): a line written by one write() of at most
// PIPE_BUF bytes, or through one stdio stream, arrives whole whatever other
// threads write. stdio keeps the buffering it had chosen (a stdout that
// was a pipe or file stays fully buffered: its lines arrive when it
// flushes, at the latest when the capture stops).
//
// exit(), std::terminate and fatal signals (SIGABRT, SIGSEGV, SIGBUS,
// SIGFPE, SIGILL where no one else handles them) put the terminal back
// before the process ends, so their messages are not lost in a pipe.
// Child processes inherit the redirected fds: what they write after the
// capture stopped gets EPIPE.

#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace troupe::core {

class console_capture {
public:
  /// Redirects fds 1 and 2 (after flushing stdout and stderr). When another
  /// capture is active in the process, or a pipe cannot be made, this one
  /// is inert: nothing is redirected and terminal() is stdout.
  console_capture();

  /// stop().
  ~console_capture();

  console_capture(const console_capture&) = delete;
  console_capture& operator=(const console_capture&) = delete;

  /// Whether fds 1 and 2 are redirected.
  bool active() const noexcept {
    return active_;
  }

  /// The original stdout (a FILE over a copy of fd 1 while active).
  FILE* terminal() const noexcept {
    return terminal_;
  }

  /// Called on the reader thread whenever lines arrive and the queue was
  /// empty (the logger sends itself a wake-up); may be set at any time.
  void on_lines(std::function<void()> wake);

  /// The whole lines captured so far, in arrival order, and forgets them.
  std::deque<std::string> take();

  /// Restores fds 1 and 2 (after flushing stdout and stderr), waits for the
  /// reader to take everything that was written, and keeps the last partial
  /// lines as lines. Idempotent; take() still returns what is left.
  void stop();

private:
  void read_loop();
  void push(std::string line);

  bool active_ = false;
  int saved_[2] = {-1, -1}; ///< copies of the original fds 1 and 2
  int pipes_[2] = {-1, -1}; ///< read ends for fd 1 and fd 2
  int wake_pipe_[2] = {-1, -1};
  FILE* terminal_ = stdout;
  std::thread reader_;
  std::mutex mutex_;
  std::deque<std::string> lines_;
  std::function<void()> wake_;
};

} // namespace troupe::core
