// The bounded, thread-safe queue of messages waiting for one connection
// (sends from other threads and channel deliveries), with the
// slow-subscriber policy. Any thread pushes; the thread that owns the
// connection takes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "ws/frame/close_code.hpp"
#include "ws/message/prepared_message.hpp"

namespace ws {

/// What happens to a connection whose backlog (queued messages plus
/// unwritten output) would pass the high-water mark.
enum class SlowSubscriberPolicy : std::uint8_t {
  close_try_again_later,   // close it with 1013 (the send fails)
  close_policy_violation,  // close it with 1008 (the send fails)
  drop_messages,           // the send fails with errc::output_queue_full, counted
};

/// Defaults: a connection may lag 4 MiB behind before the policy applies.
/// Reading from its peer pauses halfway between the marks (2.5 MiB) and
/// resumes at low_water (1 MiB).
struct BackpressureLimits {
  std::size_t high_water = 4 * 1024 * 1024;
  std::size_t low_water = 1024 * 1024;
  SlowSubscriberPolicy policy = SlowSubscriberPolicy::close_try_again_later;
};

class Outbox {
 public:
  enum class PushResult : std::uint8_t {
    queued,       // queued behind others: the owner is already woken
    queued_wake,  // queued into an empty queue: wake the owner
    dropped,      // policy drop_messages: not queued, counted
    over_limit,   // a close policy applies: not queued; the owner must close
                  // the connection with close_code() (wake it)
    closed,       // the outbox was closed: not queued
  };

  explicit Outbox(BackpressureLimits limits = {}) : limits_(limits) {}

  /// Any thread. Judges the bytes queued here plus the owner's own
  /// unwritten output (see set_owner_pending) against the high-water mark.
  PushResult push(const std::shared_ptr<const PreparedMessage>& message);

  /// Owning thread: moves every queued message into `out` (cleared first).
  void take_all(std::vector<std::shared_ptr<const PreparedMessage>>& out);

  /// Owning thread: how many bytes the connection still has to write, so
  /// publishers see the whole backlog.
  void set_owner_pending(std::size_t bytes) noexcept {
    owner_pending_.store(bytes, std::memory_order_relaxed);
  }
  std::size_t owner_pending() const noexcept {
    return owner_pending_.load(std::memory_order_relaxed);
  }

  /// No more pushes are accepted, and what waits is dropped (the connection
  /// is gone).
  void close();
  /// Owning thread, when the connection starts to close: no more pushes are
  /// accepted, and what was queued until now is moved into `out` (cleared
  /// first) in the same step, to be sent before the close frame. A push is
  /// either in `out` or refused, never accepted and then dropped.
  void close_and_take(std::vector<std::shared_ptr<const PreparedMessage>>& out);

  /// Owning thread: the owner applied a close policy itself (its own
  /// output limit was reached): later pushes are refused as over the limit.
  void mark_over_limit() noexcept { over_limit_.store(true, std::memory_order_release); }
  /// Owning thread: counts a message the owner dropped (drop_messages).
  void count_dropped() noexcept { dropped_.fetch_add(1, std::memory_order_relaxed); }

  /// The code a close policy asks for (1013 or 1008).
  CloseCode close_code() const noexcept;
  /// True once a close policy fired; the owner closes the connection.
  bool over_limit() const noexcept { return over_limit_.load(std::memory_order_acquire); }
  std::uint64_t dropped_count() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  std::size_t queued_bytes() const;
  const BackpressureLimits& limits() const noexcept { return limits_; }

 private:
  BackpressureLimits limits_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const PreparedMessage>> queue_;
  std::size_t queued_bytes_ = 0;
  bool closed_ = false;
  std::atomic<std::size_t> owner_pending_{0};
  std::atomic<bool> over_limit_{false};
  std::atomic<bool> has_messages_{false};  // lets take_all skip the lock when empty
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace ws
