// The bounded, thread-safe queue of published messages waiting for one
// connection, with the slow-subscriber policy. Adapters use it to implement
// Subscriber: publishers push from any thread, the owning thread takes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "ws/frame/close_code.hpp"
#include "ws/message/prepared_message.hpp"

namespace ws::channels {

/// What happens to a subscriber whose queued bytes reach the high-water mark.
enum class SlowSubscriberPolicy : std::uint8_t {
  close_try_again_later,   // close it with 1013
  close_policy_violation,  // close it with 1008
  drop_messages,           // drop new messages and count them
};

/// Defaults: a subscriber may lag 4 MiB behind before the policy applies;
/// an adapter resumes reading from a paused peer below 1 MiB.
struct BackpressureLimits {
  std::size_t high_water = 4 * 1024 * 1024;
  std::size_t low_water = 1024 * 1024;
  SlowSubscriberPolicy policy = SlowSubscriberPolicy::close_try_again_later;
};

class SubscriberQueue {
 public:
  enum class PushResult : std::uint8_t {
    queued,       // queued behind others: the owner is already woken
    queued_wake,  // queued into an empty queue: wake the owner
    dropped,      // policy drop_messages: not queued, counted
    over_limit,   // a close policy applies: not queued; the owner must close
                  // the connection with close_code() (wake it)
    closed,       // the queue was closed: not queued
  };

  explicit SubscriberQueue(BackpressureLimits limits = {}) : limits_(limits) {}

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

  /// No more pushes are accepted (the connection is closing).
  void close();

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
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace ws::channels
