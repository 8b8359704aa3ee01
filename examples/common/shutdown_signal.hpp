// SIGINT and SIGTERM, turned into a callback on a thread of its own, so a
// server can close its connections with 1001 instead of dying mid-frame.
#pragma once

#include <functional>
#include <thread>

namespace ws::examples {

class ShutdownSignal {
 public:
  /// Blocks SIGINT and SIGTERM in this thread and in every thread started
  /// after it (call it first in main), and calls `on_signal` once, on a
  /// thread of its own, when one arrives.
  explicit ShutdownSignal(std::function<void()> on_signal);
  /// Stops waiting (without calling on_signal) if no signal came.
  ~ShutdownSignal();

  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

 private:
  std::thread waiter_;
};

}  // namespace ws::examples
