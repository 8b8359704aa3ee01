#include "ws/driver/outbox.hpp"

namespace ws {

Outbox::PushResult Outbox::push(const std::shared_ptr<const PreparedMessage>& message) {
  const std::size_t size = message->frame().size();
  std::lock_guard lock(mutex_);
  if (closed_ || over_limit_.load(std::memory_order_relaxed)) return PushResult::closed;
  const std::size_t backlog = queued_bytes_ + owner_pending_.load(std::memory_order_relaxed);
  if (backlog + size > limits_.high_water && backlog > 0) {
    if (limits_.policy == SlowSubscriberPolicy::drop_messages) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return PushResult::dropped;
    }
    over_limit_.store(true, std::memory_order_release);
    return PushResult::over_limit;
  }
  const bool was_empty = queue_.empty();
  queue_.push_back(message);
  queued_bytes_ += size;
  has_messages_.store(true, std::memory_order_release);
  return was_empty ? PushResult::queued_wake : PushResult::queued;
}

void Outbox::take_all(std::vector<std::shared_ptr<const PreparedMessage>>& out) {
  out.clear();
  // Called after every event: an empty outbox costs no lock. A push that
  // lands after this check also wakes the owner, whose next step takes it.
  if (!has_messages_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(mutex_);
  has_messages_.store(false, std::memory_order_relaxed);
  out.swap(queue_);
  // The bytes move from this queue to the owner's output in one step, so a
  // publisher never sees them in neither place (the owner then reports the
  // exact figure with set_owner_pending).
  owner_pending_.fetch_add(queued_bytes_, std::memory_order_relaxed);
  queued_bytes_ = 0;
}

void Outbox::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  has_messages_.store(false, std::memory_order_relaxed);
}

void Outbox::close_and_take(std::vector<std::shared_ptr<const PreparedMessage>>& out) {
  out.clear();
  std::lock_guard lock(mutex_);
  closed_ = true;
  has_messages_.store(false, std::memory_order_relaxed);
  out.swap(queue_);
  owner_pending_.fetch_add(queued_bytes_, std::memory_order_relaxed);
  queued_bytes_ = 0;
}

CloseCode Outbox::close_code() const noexcept {
  return limits_.policy == SlowSubscriberPolicy::close_policy_violation
             ? CloseCode::policy_violation
             : CloseCode::try_again_later;
}

std::size_t Outbox::queued_bytes() const {
  std::lock_guard lock(mutex_);
  return queued_bytes_;
}

}  // namespace ws
