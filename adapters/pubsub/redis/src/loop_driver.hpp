// What the Redis engine needs from an event loop: run a task on the loop
// thread, watch a descriptor, and one-shot timers. One implementation per
// loop (epoll_driver.cpp, asio_driver.cpp).
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace ws::redis::detail {

/// One descriptor's readiness. Loop thread only; never closes the fd.
class IoWatch {
 public:
  virtual ~IoWatch() = default;
  /// Starts watching `fd` with no interest.
  virtual void watch(int fd, std::function<void(bool readable, bool writable)> on_ready) = 0;
  virtual void set_interest(bool read, bool write) = 0;
  /// Stops watching (safe inside on_ready).
  virtual void unwatch() = 0;
};

/// A one-shot timer. Loop thread only; arming again replaces the callback
/// (safe inside the callback).
class LoopTimer {
 public:
  virtual ~LoopTimer() = default;
  virtual void arm(std::chrono::milliseconds after, std::function<void()> on_timer) = 0;
  virtual void cancel() = 0;
};

class LoopDriver {
 public:
  virtual ~LoopDriver() = default;
  /// Any thread: runs `task` on the loop thread, in posting order.
  virtual void post(std::function<void()> task) = 0;
  virtual std::unique_ptr<IoWatch> make_watch() = 0;
  virtual std::unique_ptr<LoopTimer> make_timer() = 0;
};

}  // namespace ws::redis::detail
