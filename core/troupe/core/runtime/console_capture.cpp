#include "troupe/core/runtime/console_capture.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <exception>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace troupe::core {

namespace {

/// One capture per process: fds 1 and 2 are the process's.
std::atomic<bool> capturing{false};

/// The original fds 1 and 2 while a capture is active (-1: none), for the
/// paths that end the process without stop(): exit(), std::terminate, a
/// fatal signal. What they print then reaches the terminal, not a pipe no
/// one reads any more.
volatile sig_atomic_t saved_out = -1;
volatile sig_atomic_t saved_err = -1;
std::terminate_handler previous_terminate = nullptr;

void restore_fds() noexcept {
  if (saved_out >= 0)
    ::dup2(saved_out, 1);
  if (saved_err >= 0)
    ::dup2(saved_err, 2);
}

void on_fatal_signal(int sig) {
  restore_fds(); // async-signal-safe: dup2 only
  ::raise(sig);  // SA_RESETHAND: the default action now
}

void install_exit_paths() {
  static bool once = [] {
    std::atexit([] {
      std::fflush(stdout);
      std::fflush(stderr);
      restore_fds();
    });
    previous_terminate = std::set_terminate([] {
      restore_fds();
      if (previous_terminate != nullptr)
        previous_terminate();
      std::abort();
    });
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) {
      struct sigaction old {};
      // Only where nobody else handles it (a sanitizer, the user).
      if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
        ::sigaction(sig, &sa, nullptr);
    }
    return true;
  }();
  (void)once;
}

void close_fd(int& fd) {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

} // namespace

console_capture::console_capture() {
  bool expected = false;
  if (!capturing.compare_exchange_strong(expected, true))
    return;
  std::fflush(stdout);
  std::fflush(stderr);
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  bool ok = ::pipe2(out, O_CLOEXEC) == 0 && ::pipe2(err, O_CLOEXEC) == 0
    && ::pipe2(wake_pipe_, O_CLOEXEC) == 0;
  if (ok) {
    saved_[0] = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
    saved_[1] = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
    ok = saved_[0] >= 0 && saved_[1] >= 0;
  }
  FILE* term = nullptr;
  if (ok) {
    int fd = ::fcntl(saved_[0], F_DUPFD_CLOEXEC, 3);
    term = fd >= 0 ? ::fdopen(fd, "w") : nullptr;
    if (term == nullptr && fd >= 0)
      ::close(fd);
    ok = term != nullptr;
  }
  if (ok)
    ok = ::dup2(out[1], 1) >= 0 && ::dup2(err[1], 2) >= 0;
  for (int* p : {out, err})
    close_fd(p[1]);
  if (!ok) {
    if (saved_[0] >= 0)
      ::dup2(saved_[0], 1);
    if (saved_[1] >= 0)
      ::dup2(saved_[1], 2);
    for (int* fd : {&saved_[0], &saved_[1], &out[0], &err[0], &wake_pipe_[0],
                    &wake_pipe_[1]})
      close_fd(*fd);
    if (term != nullptr)
      std::fclose(term);
    capturing = false;
    return;
  }
  pipes_[0] = out[0];
  pipes_[1] = err[0];
  terminal_ = term;
  try {
    reader_ = std::thread([this] {
      read_loop();
    });
  } catch (...) {
    // No reader: nothing may stay redirected.
    ::dup2(saved_[0], 1);
    ::dup2(saved_[1], 2);
    for (int* fd : {&saved_[0], &saved_[1], &pipes_[0], &pipes_[1],
                    &wake_pipe_[0], &wake_pipe_[1]})
      close_fd(*fd);
    std::fclose(terminal_);
    terminal_ = stdout;
    capturing = false;
    return;
  }
  saved_out = saved_[0];
  saved_err = saved_[1];
  install_exit_paths();
  active_ = true;
}

console_capture::~console_capture() {
  stop();
  if (terminal_ != stdout) {
    std::fclose(terminal_);
    terminal_ = stdout;
  }
}

void console_capture::on_lines(std::function<void()> wake) {
  std::lock_guard<std::mutex> guard{mutex_};
  wake_ = std::move(wake);
}

std::deque<std::string> console_capture::take() {
  std::lock_guard<std::mutex> guard{mutex_};
  std::deque<std::string> out;
  out.swap(lines_);
  return out;
}

void console_capture::push(std::string line) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (lines_.empty())
      wake = wake_;
    lines_.push_back(std::move(line));
  }
  if (wake)
    wake();
}

void console_capture::read_loop() {
  std::string partial[2];
  bool open[2] = {true, true};
  char buf[65536];
  while (open[0] || open[1]) {
    pollfd fds[3] = {{pipes_[0], POLLIN, 0},
                     {pipes_[1], POLLIN, 0},
                     {wake_pipe_[0], POLLIN, 0}};
    for (int i = 0; i < 2; ++i)
      if (!open[i])
        fds[i].fd = -1;
    if (::poll(fds, 3, -1) < 0)
      continue; // EINTR
    for (int i = 0; i < 2; ++i) {
      if (!open[i] || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
        continue;
      auto n = ::read(pipes_[i], buf, sizeof buf);
      if (n <= 0) {
        open[i] = false;
        continue;
      }
      partial[i].append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (auto nl = partial[i].find('\n'); nl != std::string::npos;
           nl = partial[i].find('\n', start)) {
        auto line = partial[i].substr(start, nl - start);
        if (!line.empty() && line.back() == '\r')
          line.pop_back();
        push(std::move(line));
        start = nl + 1;
      }
      partial[i].erase(0, start);
    }
    // stop(): fds 1 and 2 are restored, so only this process's earlier
    // writes are left in the pipes; read them to the end.
    if ((fds[2].revents & POLLIN) != 0) {
      for (int i = 0; i < 2; ++i) {
        while (open[i]) {
          auto n = ::read(pipes_[i], buf, sizeof buf);
          if (n <= 0)
            break;
          partial[i].append(buf, static_cast<size_t>(n));
        }
      }
      break;
    }
  }
  for (auto& rest : partial) {
    size_t start = 0;
    while (start < rest.size()) {
      auto nl = rest.find('\n', start);
      if (nl == std::string::npos)
        nl = rest.size();
      auto line = rest.substr(start, nl - start);
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      push(std::move(line));
      start = nl + 1;
    }
  }
}

void console_capture::stop() {
  if (!active_)
    return;
  std::fflush(stdout);
  std::fflush(stderr);
  // Put the terminal back; the pipes' write ends close with it (unless a
  // child process inherited one: the wake pipe ends the reader anyway).
  ::dup2(saved_[0], 1);
  ::dup2(saved_[1], 2);
  saved_out = -1;
  saved_err = -1;
  // Non-blocking reads from here: what is in the pipes is all there is.
  for (int fd : pipes_)
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  char one = 1;
  [[maybe_unused]] auto w = ::write(wake_pipe_[1], &one, 1);
  reader_.join();
  for (int* fd : {&saved_[0], &saved_[1], &pipes_[0], &pipes_[1],
                  &wake_pipe_[0], &wake_pipe_[1]})
    close_fd(*fd);
  active_ = false;
  capturing = false;
}

} // namespace troupe::core
