// What every event loop of the library keeps besides its I/O (the epoll loop
// here, the io_uring loop in ws::uring): the timers of its watchers, and the
// work other threads and its own callbacks hand it (tasks, wakes). Internal:
// no stability promised; used by the transports only.
//
// `Watcher` is the loop's watcher type: it derives from
// std::enable_shared_from_this<Watcher>, has on_timer() and on_wake(), and a
// member `std::optional<TimePoint> armed_` that TimerHeap<Watcher> may touch
// (a friend): the earliest live entry of that watcher in the heap.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "ws/config.hpp"

namespace ws::posix::detail {

/// One armed time per watcher, in a heap. Loop thread only.
template <class Watcher>
class TimerHeap {
 public:
  /// Calls watcher.on_timer() at `when` (replacing an earlier request);
  /// nothing: no timer.
  void schedule(Watcher& watcher, std::optional<TimePoint> when) {
    if (!when) {
      watcher.armed_.reset();  // entries left in the heap are skipped when they come up
      return;
    }
    // Only an earlier time needs a new entry: when the armed one comes up,
    // the watcher asks again for its (later) time. This keeps the heap near
    // one entry per watcher although deadlines move on every message.
    if (watcher.armed_ && *watcher.armed_ <= *when) return;
    watcher.armed_ = when;
    entries_.push_back(Entry{*when, watcher.weak_from_this()});
    std::push_heap(entries_.begin(), entries_.end(), Later{});
  }

  /// Calls on_timer() of every watcher whose time is at or before `now`.
  void run_due(TimePoint now) {
    if (entries_.empty() || entries_.front().when > now) return;
    // Take the due entries first: a watcher that asks again for a time
    // already past waits for the next round instead of spinning here.
    due_.clear();
    while (!entries_.empty() && entries_.front().when <= now) {
      std::pop_heap(entries_.begin(), entries_.end(), Later{});
      due_.push_back(std::move(entries_.back()));
      entries_.pop_back();
    }
    for (Entry& entry : due_) {
      const std::shared_ptr<Watcher> watcher = entry.watcher.lock();
      if (!watcher || !watcher->armed_ || *watcher->armed_ != entry.when) continue;  // stale
      watcher->armed_.reset();
      watcher->on_timer();
    }
    due_.clear();
  }

  /// The earliest time in the heap (perhaps a stale entry's: the loop then
  /// wakes once for nothing).
  std::optional<TimePoint> next() const {
    if (entries_.empty()) return std::nullopt;
    return entries_.front().when;
  }

  void clear() noexcept {
    entries_.clear();
    due_.clear();
  }

 private:
  struct Entry {
    TimePoint when;
    std::weak_ptr<Watcher> watcher;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const noexcept { return a.when > b.when; }
  };

  std::vector<Entry> entries_;
  std::vector<Entry> due_;
};

/// Tasks and watcher wakes for the loop thread. From another thread they
/// go into lists under a mutex, and the loop's eventfd is written once per
/// batch (until the loop took the batch); from the loop thread itself they
/// wait for the next round, so sockets and timers are not starved.
template <class Watcher>
class LoopWork {
 public:
  /// The eventfd the loop waits on; -1: none (nothing is signalled). Set
  /// before any other thread uses this.
  void set_wake_fd(int fd) noexcept { wake_fd_ = fd; }

  // ---- Any thread (`in_loop`: the caller is the loop thread) ---------------
  void post(std::function<void()> task, bool in_loop) {
    if (in_loop) {
      local_tasks_.push_back(std::move(task));
      return;
    }
    std::lock_guard lock(mutex_);
    if (!alive_) return;
    tasks_.push_back(std::move(task));
    signal_locked();
  }
  void wake(std::weak_ptr<Watcher> watcher, bool in_loop) {
    if (in_loop) {
      local_wakes_.push_back(std::move(watcher));
      return;
    }
    std::lock_guard lock(mutex_);
    if (!alive_) return;
    wakes_.push_back(std::move(watcher));
    signal_locked();
  }
  /// Writes the eventfd (once until the next take), for stop().
  void signal() {
    std::lock_guard lock(mutex_);
    signal_locked();
  }
  /// False once close() ran.
  bool alive() {
    std::lock_guard lock(mutex_);
    return alive_;
  }

  // ---- Loop thread -----------------------------------------------------------
  /// Runs what other threads handed over (after the eventfd was read).
  void run_cross_thread() {
    {
      std::lock_guard lock(mutex_);
      signalled_ = false;
      running_tasks_.swap(tasks_);
      running_wakes_.swap(wakes_);
    }
    run_wakes();
    run_tasks();
  }
  /// One round of what the loop's own callbacks queued: what these queue
  /// waits for the next round.
  void run_local() {
    running_wakes_.swap(local_wakes_);
    run_wakes();
    running_tasks_.swap(local_tasks_);  // with those the wakes just posted
    run_tasks();
  }
  bool has_local() const noexcept { return !local_tasks_.empty() || !local_wakes_.empty(); }
  /// Later posts and wakes are dropped; what is queued is destroyed (tasks
  /// may hold connections that were never started).
  void close() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard lock(mutex_);
      alive_ = false;
      tasks.swap(tasks_);
      wakes_.clear();
    }
    tasks.clear();
    local_tasks_.clear();
    local_wakes_.clear();
  }

 private:
  void signal_locked() noexcept {
    if (signalled_ || wake_fd_ < 0) return;
    signalled_ = true;
    const std::uint64_t one = 1;
    // The counter cannot overflow: the loop reads it before it is signalled again.
    [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof one);
  }
  void run_wakes() {
    for (const std::weak_ptr<Watcher>& weak : running_wakes_) {
      if (const std::shared_ptr<Watcher> watcher = weak.lock()) watcher->on_wake();
    }
    running_wakes_.clear();
  }
  void run_tasks() {
    for (std::function<void()>& task : running_tasks_) task();
    running_tasks_.clear();
  }

  int wake_fd_ = -1;
  std::mutex mutex_;  // guards the three below
  bool alive_ = true;
  bool signalled_ = false;  // an eventfd write is pending
  std::vector<std::function<void()>> tasks_;
  std::vector<std::weak_ptr<Watcher>> wakes_;
  // Loop thread only.
  std::vector<std::function<void()>> local_tasks_;
  std::vector<std::weak_ptr<Watcher>> local_wakes_;
  std::vector<std::function<void()>> running_tasks_;
  std::vector<std::weak_ptr<Watcher>> running_wakes_;
};

}  // namespace ws::posix::detail
