#include "troupe/core/runtime/interrupt.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>

#include <fcntl.h>
#include <unistd.h>

namespace troupe::core {

namespace {

std::atomic<bool> requested{false};
/// The write end of the live scope's pipe, -1 when none.
std::atomic<int> wake_fd{-1};

struct sigaction previous_int;
struct sigaction previous_term;

extern "C" void on_signal_handler(int sig) {
  if (requested.exchange(true)) {
    // Second signal: give up waiting for a clean stop.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  auto saved = errno;
  int fd = wake_fd.load();
  if (fd >= 0) {
    char byte = 's';
    [[maybe_unused]] auto n = ::write(fd, &byte, 1);
  }
  errno = saved;
}

} // namespace

bool interrupt_requested() noexcept {
  return requested.load(std::memory_order_relaxed);
}

interrupt_scope::interrupt_scope() {
  requested = false;
  if (::pipe2(pipe_, O_CLOEXEC) != 0)
    pipe_[0] = pipe_[1] = -1;
  wake_fd = pipe_[1];
  struct sigaction sa {};
  sa.sa_handler = on_signal_handler;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &previous_int);
  sigaction(SIGTERM, &sa, &previous_term);
  if (pipe_[0] >= 0)
    watcher_ = std::thread{[this, fd = pipe_[0]] {
      for (;;) {
        char byte = 0;
        auto n = ::read(fd, &byte, 1);
        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0 || byte == 'q')
          return;
        std::lock_guard<std::mutex> guard{mutex_};
        if (callback_)
          callback_();
      }
    }};
}

interrupt_scope::~interrupt_scope() {
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGTERM, &previous_term, nullptr);
  wake_fd = -1;
  if (watcher_.joinable()) {
    char byte = 'q';
    [[maybe_unused]] auto n = ::write(pipe_[1], &byte, 1);
    watcher_.join();
  }
  for (int fd : pipe_)
    if (fd >= 0)
      ::close(fd);
}

void interrupt_scope::on_signal(std::function<void()> f) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    callback_ = std::move(f);
  }
  // A signal that arrived before: act on it now, on the watcher thread.
  if (requested && pipe_[1] >= 0) {
    char byte = 's';
    [[maybe_unused]] auto n = ::write(pipe_[1], &byte, 1);
  }
}

} // namespace troupe::core
