// Signals reach every live fit of the process through one pipe and one
// watcher thread; handlers are installed while a scope lives.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include "troupe/core/runtime/interrupt.hpp"

using namespace troupe::core;

namespace {

/// Waits up to 5 s for `flag`.
bool wait_for(const std::atomic<int>& flag, int at_least = 1) {
  for (int i = 0; i < 500 && flag.load() < at_least; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  return flag.load() >= at_least;
}

void (*current_handler(int sig))(int) {
  struct sigaction sa {};
  sigaction(sig, nullptr, &sa);
  return sa.sa_handler;
}

} // namespace

TEST_CASE("a signal reaches every live scope, and the last scope puts the "
          "previous handlers back",
          "[core][interrupt]") {
  auto before = current_handler(SIGINT);
  std::atomic<int> a{0}, b{0};
  {
    interrupt_scope first;
    first.on_signal([&] {
      ++a;
    });
    {
      interrupt_scope second;
      second.on_signal([&] {
        ++b;
      });
      CHECK(current_handler(SIGINT) != before);
      std::raise(SIGINT); // handled: the test process lives on
      CHECK(wait_for(a));
      CHECK(wait_for(b));
      CHECK(interrupt_requested());
    }
    // The inner scope ending leaves the outer one's handler in place.
    CHECK(current_handler(SIGINT) != before);
    CHECK(current_handler(SIGTERM) != SIG_DFL);
  }
  CHECK(current_handler(SIGINT) == before);
  CHECK(a.load() == 1);
  CHECK(b.load() == 1);
}

TEST_CASE("a signal before on_signal is delivered when the callback is set; "
          "a removed callback never runs",
          "[core][interrupt]") {
  std::atomic<int> late{0}, removed{0};
  interrupt_scope scope;
  CHECK_FALSE(interrupt_requested()); // the first scope clears the flag
  scope.on_signal([&] {
    ++removed;
  });
  scope.on_signal({});
  std::raise(SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds{50});
  CHECK(interrupt_requested());
  scope.on_signal([&] {
    ++late;
  });
  CHECK(wait_for(late));
  CHECK(removed.load() == 0);
}
