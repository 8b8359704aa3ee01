// The inside of an EpollLoop: the epoll instance, the wake-up eventfd, the
// cross-thread task and wake lists, and the timer heap. Shared (by
// std::shared_ptr) with the sessions, so a session that outlives its loop
// can still be used safely (its sends then fail).
#pragma once

#include <sys/epoll.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ws/config.hpp"
#include "ws/posix/detail/loop_work.hpp"
#include "ws/posix/socket.hpp"

namespace ws::posix::detail {

/// Something the loop drives: a socket (events), a timer and cross-thread
/// wake-ups. Every virtual runs on the loop thread.
class EpollWatcher : public std::enable_shared_from_this<EpollWatcher> {
 public:
  virtual ~EpollWatcher() = default;
  /// epoll reported `events` (EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR).
  virtual void on_events(std::uint32_t events) = 0;
  /// The time set with EpollLoopCore::schedule() has come.
  virtual void on_timer() {}
  /// Some thread called EpollLoopCore::wake() for this watcher.
  virtual void on_wake() {}
  /// The loop is being destroyed: release the socket, make no callbacks.
  virtual void on_loop_destroyed() {}

 private:
  friend class EpollLoopCore;
  template <class>
  friend class TimerHeap;
  std::optional<TimePoint> armed_;  // earliest live entry in the timer heap
  bool registered_ = false;         // in the epoll set
};

class EpollLoopCore {
 public:
  EpollLoopCore();
  ~EpollLoopCore();
  EpollLoopCore(const EpollLoopCore&) = delete;
  EpollLoopCore& operator=(const EpollLoopCore&) = delete;

  /// The error that prevented creating the epoll instance or the eventfd.
  std::error_code creation_error() const noexcept { return creation_error_; }

  // ---- Any thread -----------------------------------------------------------
  void post(std::function<void()> task);
  /// Calls watcher->on_wake() on the loop thread (dropped if it is gone).
  void wake(std::weak_ptr<EpollWatcher> watcher);
  void stop() noexcept;
  /// False once destroy() began.
  bool alive() { return work_.alive(); }
  bool in_loop_thread() const noexcept {
    return loop_thread_.load(std::memory_order_acquire) == std::this_thread::get_id();
  }
  /// Runs `task` now when on the loop thread, else posts it.
  void dispatch(std::function<void()> task);

  // ---- Loop thread (or while run() is not executing) ------------------------
  std::error_code run();
  /// Adds `fd` to the epoll set; the loop keeps `watcher` alive until remove().
  std::error_code add(const std::shared_ptr<EpollWatcher>& watcher, int fd, std::uint32_t events);
  std::error_code modify(EpollWatcher& watcher, int fd, std::uint32_t events);
  /// Takes `fd` out of the epoll set; `watcher` stays alive until the
  /// current batch of events is handled, but gets no more events.
  void remove(EpollWatcher& watcher, int fd);
  /// Calls watcher.on_timer() at `when` (replacing an earlier request);
  /// nothing: no timer.
  void schedule(EpollWatcher& watcher, std::optional<TimePoint> when);
  /// The time read after the last epoll_wait returned.
  TimePoint now() const noexcept { return now_; }
  /// Scratch iovecs (IOV_MAX of them) for gathered writes on the loop thread.
  std::span<iovec> iovecs() noexcept { return iovecs_; }
  /// The loop's read buffer, made on first use: every connection reads into
  /// it and hands the bytes to its driver, which keeps only what it must (a
  /// partial frame, a message being joined), so an idle connection holds no
  /// read buffer and one read can take many messages. Loop thread; valid
  /// until the next read into it.
  std::span<std::byte> read_buffer();
  /// Its size: the driver's default fairness budget per turn (256 KiB), as
  /// uWebSockets reads into one large buffer per loop (512 KiB).
  static constexpr std::size_t read_buffer_size = 256 * 1024;
  /// A connection released its idle buffers: the loop returns free memory
  /// to the system (malloc_trim) at most once per trim_interval, after the
  /// events of the current round. Loop thread.
  void memory_released() noexcept;
  static constexpr std::chrono::seconds trim_interval{1};
  /// Called by ~EpollLoop: drops every watcher (on_loop_destroyed) and
  /// every queued task; later posts and wakes are ignored.
  void destroy();

 private:
  void drain_wake_fd() noexcept;
  void trim_memory();
  int wait_timeout_ms() const;

  std::error_code creation_error_;
  FileDescriptor epoll_fd_;
  FileDescriptor wake_fd_;
  std::atomic<std::thread::id> loop_thread_{};
  std::atomic<bool> stop_requested_{false};

  LoopWork<EpollWatcher> work_;  // tasks and wakes, from any thread

  // Loop thread only.
  TimerHeap<EpollWatcher> timers_;
  std::unordered_map<EpollWatcher*, std::shared_ptr<EpollWatcher>> watchers_;
  std::vector<std::shared_ptr<EpollWatcher>> graveyard_;
  std::vector<epoll_event> events_;
  std::vector<iovec> iovecs_;
  std::unique_ptr<std::byte[]> read_buffer_;
  bool trim_wanted_ = false;  // memory_released() since the last trim
  TimePoint last_trim_{};
  TimePoint now_{};
};

}  // namespace ws::posix::detail
