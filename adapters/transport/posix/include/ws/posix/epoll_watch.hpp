// EpollWatch: a file descriptor that is not a WebSocket (a database client's
// socket, say) and a timer, driven by an EpollLoop, so a client library with
// event hooks (hiredis's ev.addRead/addWrite...) can share the loop thread.
//
// Threading: every member runs on the loop thread (or while run() is not
// executing). Callbacks run on the loop thread. The descriptor stays the
// caller's: the watch never closes it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <system_error>

#include "ws/config.hpp"

namespace ws::posix {

class EpollLoop;
namespace detail {
class EpollWatchCore;
}

class EpollWatch {
 public:
  /// Called with what is ready: readable (or hung up / failed, so the owner
  /// reads the error) and writable.
  using ReadyHandler = std::function<void(bool readable, bool writable)>;

  explicit EpollWatch(EpollLoop& loop);
  /// Stops watching and cancels the timer. Safe inside its own callbacks.
  ~EpollWatch();
  EpollWatch(const EpollWatch&) = delete;
  EpollWatch& operator=(const EpollWatch&) = delete;

  /// Starts watching `fd` with no interest; on_ready runs when an interest
  /// set with set_interest is ready (level-triggered). Replaces an earlier fd.
  void watch(int fd, ReadyHandler on_ready);
  /// Which readiness to report. No interest takes the fd out of the epoll
  /// set. Returns the epoll_ctl error, if any.
  std::error_code set_interest(bool read, bool write);
  /// Stops watching the fd (safe inside on_ready; the fd stays open).
  void unwatch();

  /// Calls `on_timer` once at `when` (replacing an earlier request); nothing:
  /// cancels it.
  void set_timer(std::optional<TimePoint> when, std::function<void()> on_timer = {});

 private:
  std::shared_ptr<detail::EpollWatchCore> core_;
};

}  // namespace ws::posix
