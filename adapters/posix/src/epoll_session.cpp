#include "ws/posix/epoll_session.hpp"

#include "epoll_loop_core.hpp"

namespace ws::posix {

EpollSession::EpollSession(Key, Role role, const channels::BackpressureLimits& limits,
                           std::shared_ptr<detail::EpollLoopCore> loop)
    : role_(role), queue_(limits), loop_(std::move(loop)) {}

EpollSession::~EpollSession() = default;

std::error_code EpollSession::push(const std::shared_ptr<const PreparedMessage>& message) {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return errc::not_open;
  }
  switch (queue_.push(message)) {
    case channels::SubscriberQueue::PushResult::queued:
      return {};
    case channels::SubscriberQueue::PushResult::queued_wake:
      wake();
      return {};
    case channels::SubscriberQueue::PushResult::dropped:
      return errc::output_queue_full;
    case channels::SubscriberQueue::PushResult::over_limit:
      wake();  // the loop closes the connection with the policy's code
      return errc::output_queue_full;
    case channels::SubscriberQueue::PushResult::closed:
      break;
  }
  return errc::not_open;
}

void EpollSession::wake() {
  // One wake-up covers everything queued until the loop takes the queue.
  if (!wake_pending_.exchange(true, std::memory_order_acq_rel)) loop_->wake(owner_);
}

std::error_code EpollSession::send_text(std::string_view text) {
  return push(PreparedMessage::make(MessageKind::text, as_bytes(text)));
}

std::error_code EpollSession::send_binary(ByteView data) {
  return push(PreparedMessage::make(MessageKind::binary, data));
}

std::error_code EpollSession::send(const std::shared_ptr<const PreparedMessage>& message) {
  return push(message);
}

bool EpollSession::deliver(const std::shared_ptr<const PreparedMessage>& message) {
  return !push(message);
}

std::error_code EpollSession::close(CloseCode code, std::string_view reason) {
  return close(static_cast<std::uint16_t>(code), reason);
}

std::error_code EpollSession::close(std::uint16_t code, std::string_view reason) {
  if (const std::error_code error = check_close_to_send(code, reason)) return error;
  {
    std::lock_guard lock(mutex_);
    if (closing_) return errc::not_open;
    closing_ = true;
    close_request_ = CloseRequest{code, std::string(reason)};
  }
  SessionState expected = SessionState::open;
  state_.compare_exchange_strong(expected, SessionState::closing, std::memory_order_acq_rel);
  wake();
  return {};
}

void EpollSession::abort() {
  {
    std::lock_guard lock(mutex_);
    if (abort_requested_) return;
    abort_requested_ = true;
    closing_ = true;
  }
  wake();
}

std::size_t EpollSession::backlog_bytes() const {
  return queue_.queued_bytes() + owner_pending_.load(std::memory_order_relaxed);
}

}  // namespace ws::posix
