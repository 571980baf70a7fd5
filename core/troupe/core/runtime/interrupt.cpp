#include "troupe/core/runtime/interrupt.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace troupe::core {

namespace {

std::atomic<bool> requested{false};
std::atomic<int> first_signal{0};

/// The process's signal pipe: made once, never closed, so the handler can
/// always write to it.
std::atomic<int> wake_fd{-1};

extern "C" void on_signal_handler(int sig) {
  if (requested.exchange(true)) {
    // Second signal: give up waiting for a clean stop.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  first_signal = sig;
  auto saved = errno;
  char byte = 's';
  [[maybe_unused]] auto n = ::write(wake_fd.load(), &byte, 1);
  errno = saved;
}

/// Scopes, their callbacks and the handlers they installed.
struct registry {
  std::mutex mutex;
  /// Held while callbacks run, so that removing one waits for it.
  std::mutex running;
  std::map<uint64_t, std::function<void()>> callbacks;
  uint64_t next_id = 0;
  int scopes = 0;
  struct sigaction previous_int {};
  struct sigaction previous_term {};
};

registry& reg() {
  static registry r;
  return r;
}

/// Runs every callback of every live scope.
void notify() {
  auto& r = reg();
  std::lock_guard<std::mutex> run_guard{r.running};
  std::map<uint64_t, std::function<void()>> now;
  {
    std::lock_guard<std::mutex> guard{r.mutex};
    now = r.callbacks;
  }
  for (auto& [id, f] : now)
    if (f)
      f();
}

void start_watcher() {
  static std::once_flag once;
  std::call_once(once, [] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(),
                              "interrupt_scope: cannot make the signal pipe");
    wake_fd = fds[1];
    std::thread{[fd = fds[0]] {
      for (;;) {
        char byte = 0;
        auto n = ::read(fd, &byte, 1);
        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0)
          return;
        notify();
      }
    }}.detach();
  });
}

} // namespace

bool interrupt_requested() noexcept {
  return requested.load(std::memory_order_relaxed);
}

int interrupt_signal() noexcept {
  return first_signal.load(std::memory_order_relaxed);
}

interrupt_scope::interrupt_scope() {
  start_watcher();
  auto& r = reg();
  std::lock_guard<std::mutex> guard{r.mutex};
  id_ = r.next_id++;
  if (r.scopes++ == 0) {
    requested = false;
    first_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_signal_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &r.previous_int);
    sigaction(SIGTERM, &sa, &r.previous_term);
  }
}

interrupt_scope::~interrupt_scope() {
  on_signal({});
  auto& r = reg();
  std::lock_guard<std::mutex> guard{r.mutex};
  if (--r.scopes == 0) {
    sigaction(SIGINT, &r.previous_int, nullptr);
    sigaction(SIGTERM, &r.previous_term, nullptr);
  }
}

void interrupt_scope::on_signal(std::function<void()> f) {
  auto& r = reg();
  bool set = static_cast<bool>(f);
  {
    // Wait for a notification in progress: after this, the old callback
    // neither runs nor will run.
    std::lock_guard<std::mutex> run_guard{r.running};
    std::lock_guard<std::mutex> guard{r.mutex};
    if (set)
      r.callbacks[id_] = std::move(f);
    else
      r.callbacks.erase(id_);
  }
  // A signal that arrived before: act on it now, on the watcher thread.
  if (set && requested) {
    char byte = 's';
    [[maybe_unused]] auto n = ::write(wake_fd.load(), &byte, 1);
  }
}

} // namespace troupe::core
