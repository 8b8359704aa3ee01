// The inside of a UringLoop: the ring and its provided buffers, the wake-up
// eventfd, the cross-thread task and wake lists, the timer heap, and the
// table of owners that completions are routed to. Shared (by
// std::shared_ptr) with the sessions, so a session that outlives its loop
// can still be used safely (its sends then fail).
//
// Completions find their owner through a slot table: user_data is the
// owner's slot, the slot's generation and the operation's kind. The loop
// keeps an owner alive (its slot holds a std::shared_ptr) until the owner
// detached AND the last completion of every operation it prepared came
// back, so user_data never names freed memory, and the memory a
// prepared operation reads or writes (a connection's output, a msghdr)
// lives at least as long as the operation.
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "buffer_ring.hpp"
#include "ws/config.hpp"
#include "ws/posix/detail/loop_work.hpp"
#include "ws/posix/socket.hpp"
#include "ws/uring/uring_loop.hpp"

namespace ws::uring::detail {

/// Something with operations in the ring: a connection, a listener. Every
/// virtual runs on the loop thread.
class UringOwner : public std::enable_shared_from_this<UringOwner> {
 public:
  virtual ~UringOwner() = default;
  /// A completion of an operation prepared with UringLoopCore::prepare(*this,
  /// op). Also after detach(), until the last one.
  virtual void on_completion(std::uint8_t op, const io_uring_cqe& cqe) = 0;
  /// The time set with UringLoopCore::schedule() has come.
  virtual void on_timer() {}
  /// Some thread called UringLoopCore::wake() for this owner.
  virtual void on_wake() {}
  /// After UringLoopCore::request_turn(): once per loop iteration, after
  /// the iteration's completions, timers and wakes.
  virtual void on_turn() {}
  /// The loop is being destroyed and every operation came back: release
  /// the socket, make no callbacks.
  virtual void on_loop_destroyed() {}

 private:
  friend class UringLoopCore;
  template <class>
  friend class posix::detail::TimerHeap;
  static constexpr std::uint32_t no_slot = 0xffffffffU;
  std::optional<TimePoint> armed_;  // earliest live entry in the timer heap
  std::uint32_t slot_ = no_slot;
  bool turn_requested_ = false;
};

/// The counters behind UringStats. Written by the loop thread only (a
/// plain load and store), read from any thread.
struct UringCounters {
  std::atomic<std::uint64_t> enter_calls{0};
  std::atomic<std::uint64_t> sqes_submitted{0};
  std::atomic<std::uint64_t> cqes_handled{0};
  std::atomic<std::uint64_t> iterations{0};
  std::atomic<std::uint64_t> receives_armed{0};
  std::atomic<std::uint64_t> receives_out_of_buffers{0};
  std::atomic<std::uint64_t> sends{0};
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> bytes_received{0};
  std::atomic<std::uint64_t> bytes_held{0};
  std::atomic<std::uint64_t> stale_completions{0};

  /// Loop thread: one writer, so no locked add is needed.
  static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  UringStats snapshot() const noexcept;
};

class UringLoopCore {
 public:
  explicit UringLoopCore(const UringLoopOptions& options);
  ~UringLoopCore();
  UringLoopCore(const UringLoopCore&) = delete;
  UringLoopCore& operator=(const UringLoopCore&) = delete;

  /// Why the loop is unusable (probe()'s error, or its own setup's).
  std::error_code creation_error() const noexcept { return creation_error_; }
  const std::string& creation_message() const noexcept { return creation_message_; }
  /// Whether the kernel has IORING_OP_SENDMSG_ZC.
  bool zero_copy_send_supported() const noexcept { return zero_copy_send_; }

  // ---- Any thread -----------------------------------------------------------
  void post(std::function<void()> task);
  /// Calls owner->on_wake() on the loop thread (dropped if it is gone).
  void wake(std::weak_ptr<UringOwner> owner);
  void stop() noexcept;
  /// False once destroy() began.
  bool alive() { return work_.alive(); }
  bool in_loop_thread() const noexcept {
    return loop_thread_.load(std::memory_order_acquire) == std::this_thread::get_id();
  }
  UringStats stats() const noexcept { return counters_.snapshot(); }

  // ---- Loop thread (or while run() is not executing) ------------------------
  std::error_code run();
  /// Gives `owner` a slot: it may prepare operations from now on, and the
  /// loop keeps it alive until detach() and its last completion.
  void attach(const std::shared_ptr<UringOwner>& owner);
  /// The owner prepares nothing more; the loop lets go of it once its last
  /// operation completed (at the end of a loop iteration).
  void detach(UringOwner& owner) noexcept;
  /// A submission queue entry whose completion goes to owner.on_completion
  /// with `op` (user_data is set; liburing's prep functions leave it). It
  /// is submitted with the iteration's batch (or earlier when the queue is
  /// full). Never null.
  io_uring_sqe* prepare(UringOwner& owner, std::uint8_t op);
  /// The user_data prepare(owner, op) gives, for a cancel by user_data.
  std::uint64_t user_data(const UringOwner& owner, std::uint8_t op) const noexcept;
  /// Operations of `owner` whose last completion has not come back.
  std::uint32_t pending(const UringOwner& owner) const noexcept;
  /// Calls owner.on_turn() once, after this iteration's completions.
  void request_turn(UringOwner& owner);
  /// Calls owner.on_timer() at `when` (replacing an earlier request);
  /// nothing: no timer.
  void schedule(UringOwner& owner, std::optional<TimePoint> when);
  /// The time read after the last io_uring_enter returned.
  TimePoint now() const noexcept { return now_; }
  BufferRing& buffers() noexcept { return buffers_; }
  UringCounters& counters() noexcept { return counters_; }
  /// A connection released its idle buffers: the loop returns free memory
  /// to the system (malloc_trim) at most once per trim_interval.
  void memory_released() noexcept { trim_wanted_ = true; }
  static constexpr std::chrono::seconds trim_interval{1};
  /// Called by ~UringLoop: cancels every operation and waits for them,
  /// drops every owner (on_loop_destroyed) and every queued task; later
  /// posts and wakes are ignored.
  void destroy();

 private:
  struct Slot {
    std::shared_ptr<UringOwner> owner;
    std::uint32_t generation = 0;
    std::uint32_t pending = 0;
    bool detached = false;
  };

  io_uring_sqe* get_sqe();
  io_uring_sqe* prepare_loop(std::uint8_t op, std::uint32_t sequence);
  int submit(unsigned wait_for);
  void arm_wake();
  void arm_timer();
  bool handle_completions();
  bool handle_loop_completion(const io_uring_cqe& cqe);
  void handle_owner_completion(const io_uring_cqe& cqe);
  void release_finished();
  void run_turns();
  void trim_memory();
  bool has_local_work() const;
  std::optional<TimePoint> next_timer() const;

  std::error_code creation_error_;
  std::string creation_message_;
  bool zero_copy_send_ = false;
  io_uring ring_{};
  bool ring_ready_ = false;
  BufferRing buffers_;
  posix::FileDescriptor wake_fd_;
  std::atomic<std::thread::id> loop_thread_{};
  std::atomic<bool> stop_requested_{false};
  UringCounters counters_;

  posix::detail::LoopWork<UringOwner> work_;  // tasks and wakes, from any thread

  // Loop thread only.
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint32_t> finished_;  // detached slots whose last completion may be in
  std::vector<UringOwner*> turns_;       // request_turn(), for the next run_turns()
  std::vector<UringOwner*> running_turns_;
  posix::detail::TimerHeap<UringOwner> timers_;
  std::vector<io_uring_cqe> completions_;
  std::uint32_t loop_pending_ = 0;  // the loop's own operations in flight
  bool wake_armed_ = false;
  std::uint64_t wake_value_ = 0;  // the eventfd read's target
  std::optional<TimePoint> timer_armed_;
  std::uint32_t timer_sequence_ = 0;
  __kernel_timespec timer_time_{};
  bool trim_wanted_ = false;
  TimePoint last_trim_{};
  TimePoint now_{};
};

}  // namespace ws::uring::detail
