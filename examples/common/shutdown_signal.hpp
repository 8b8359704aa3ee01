// SIGINT and SIGTERM, turned into a callback on a thread of its own, so a
// server can close its connections with 1001 instead of dying mid-frame;
// and SIGUSR1, turned into a report (scripts/bench reads ws-echo's io_uring
// counters this way).
#pragma once

#include <functional>
#include <thread>

namespace ws::examples {

class ShutdownSignal {
 public:
  /// Blocks SIGINT, SIGTERM and SIGUSR1 in this thread and in every thread
  /// started after it (call it first in main), and calls `on_signal` once,
  /// on a thread of its own, when SIGINT or SIGTERM arrives. Each SIGUSR1
  /// before that calls `on_report` on the same thread (ignored when empty).
  explicit ShutdownSignal(std::function<void()> on_signal, std::function<void()> on_report = {});
  /// Stops waiting (without calling on_signal) if no signal came.
  ~ShutdownSignal();

  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

 private:
  std::thread waiter_;
};

}  // namespace ws::examples
