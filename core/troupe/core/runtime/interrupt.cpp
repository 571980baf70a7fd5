#include "troupe/core/runtime/interrupt.hpp"

#include <atomic>
#include <csignal>

namespace troupe::core {

namespace {

std::atomic<bool> requested{false};

struct sigaction previous_int;
struct sigaction previous_term;

extern "C" void on_signal(int sig) {
  if (requested.exchange(true)) {
    // Second signal: give up waiting for a clean stop.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

} // namespace

bool interrupt_requested() noexcept {
  return requested.load(std::memory_order_relaxed);
}

interrupt_scope::interrupt_scope() {
  requested = false;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &previous_int);
  sigaction(SIGTERM, &sa, &previous_term);
}

interrupt_scope::~interrupt_scope() {
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGTERM, &previous_term, nullptr);
}

} // namespace troupe::core
