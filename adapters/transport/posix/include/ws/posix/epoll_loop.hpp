// EpollLoop: one thread, one epoll instance, any number of WebSocket
// connections (ws/posix/epoll_server.hpp, ws/posix/epoll_client.hpp).
//
// Threading contract:
//   - run() drives everything on the thread that calls it: socket I/O,
//     timers and every application callback (EpollHandler). Callbacks never
//     run concurrently with each other.
//   - stop() and post() may be called from any thread at any time; so may
//     every member of EpollSession.
//   - Destroy the loop only when run() is not executing. Connections still
//     open then are dropped without a close handshake and without callbacks;
//     sessions the application still holds report SessionState::closed.
#pragma once

#include <functional>
#include <memory>
#include <system_error>

namespace ws::posix {

namespace detail {
class EpollLoopCore;
}
class EpollServer;
class EpollClient;
class EpollWatch;

class EpollLoop {
 public:
  /// Creates the epoll instance and its eventfd. If either fails, run()
  /// returns that error and servers and clients cannot be created on it.
  EpollLoop();
  /// Precondition: run() is not executing (see the contract above).
  ~EpollLoop();
  EpollLoop(const EpollLoop&) = delete;
  EpollLoop& operator=(const EpollLoop&) = delete;

  /// Runs on the calling thread until stop(). Returns an empty error_code
  /// after stop(), or the system error that broke epoll_wait (or the
  /// creation error). Not re-entrant; may be called again after it returned.
  std::error_code run();

  /// Any thread: makes run() return after the callbacks in progress. If run()
  /// is not executing, the next run() returns at once.
  void stop() noexcept;

  /// Any thread: runs `task` on the loop thread, in posting order. Tasks
  /// posted while the loop is not running wait for run(); tasks still queued
  /// when the loop is destroyed are dropped without running.
  void post(std::function<void()> task);

  /// True on the thread inside run().
  bool in_loop_thread() const noexcept;

 private:
  friend class EpollServer;
  friend class EpollClient;
  friend class EpollWatch;
  std::shared_ptr<detail::EpollLoopCore> core_;
};

}  // namespace ws::posix
