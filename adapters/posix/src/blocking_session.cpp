#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "blocking_loop.hpp"
#include "ws/base/error.hpp"
#include "ws/posix/blocking_session.hpp"

namespace ws::posix {

BlockingSession::BlockingSession(Key, Role role, const channels::BackpressureLimits& limits)
    : role_(role), queue_(limits), wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  // Without an eventfd (descriptor limit) the owner still sees queued work
  // at its next wake-up; the adapter refuses to run such a session.
}

BlockingSession::~BlockingSession() = default;

std::error_code BlockingSession::send_text(std::string_view text) {
  if (detail::BlockingLoop* loop = owner_here()) {
    if (!accepting_sends()) return errc::not_open;
    return loop->send_now(MessageKind::text, as_bytes(text));
  }
  return push(PreparedMessage::make(MessageKind::text, as_bytes(text)));
}

std::error_code BlockingSession::send_binary(ByteView data) {
  if (detail::BlockingLoop* loop = owner_here()) {
    if (!accepting_sends()) return errc::not_open;
    return loop->send_now(MessageKind::binary, data);
  }
  return push(PreparedMessage::make(MessageKind::binary, data));
}

std::error_code BlockingSession::send(const std::shared_ptr<const PreparedMessage>& message) {
  if (detail::BlockingLoop* loop = owner_here()) {
    if (!accepting_sends()) return errc::not_open;
    return loop->send_now(message);
  }
  return push(message);
}

detail::BlockingLoop* BlockingSession::owner_here() const noexcept {
  // loop_ is touched only by the owning thread, so reading it there is safe.
  return std::this_thread::get_id() == owner_thread_ ? loop_ : nullptr;
}

bool BlockingSession::accepting_sends() const {
  std::lock_guard lock(mutex_);
  return !closing_ && !ended_;
}

bool BlockingSession::deliver(const std::shared_ptr<const PreparedMessage>& message) {
  return !send(message);
}

std::error_code BlockingSession::push(const std::shared_ptr<const PreparedMessage>& message) {
  {
    std::lock_guard lock(mutex_);
    if (closing_ || ended_) return errc::not_open;
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
      wake();  // the owner closes the connection with queue_.close_code()
      return errc::output_queue_full;
    case channels::SubscriberQueue::PushResult::closed:
      break;
  }
  return errc::not_open;
}

std::error_code BlockingSession::close(std::uint16_t code, std::string_view reason) {
  // Checked here so that the caller hears of its mistake; the owner's
  // Connection::close would only report it on the owner's thread.
  if (const std::error_code error = check_close_to_send(code, reason)) return error;
  {
    std::lock_guard lock(mutex_);
    if (closing_ || ended_) return errc::not_open;
    closing_ = true;
    close_request_ = CloseRequest{code, std::string(reason)};
  }
  wake();
  return {};
}

std::error_code BlockingSession::close(CloseCode code, std::string_view reason) {
  return close(static_cast<std::uint16_t>(code), reason);
}

void BlockingSession::abort() {
  {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    abort_requested_ = true;
    closing_ = true;
  }
  wake();
}

std::size_t BlockingSession::backlog_bytes() const {
  return queue_.queued_bytes() + owner_pending_.load(std::memory_order_relaxed);
}

void BlockingSession::wake() {
  std::lock_guard lock(mutex_);
  // Under the lock so the eventfd cannot be closed (mark_ended) meanwhile.
  if (ended_ || !wake_fd_) return;
  const std::uint64_t one = 1;
  // EAGAIN means the counter is saturated: the owner is woken anyway.
  while (::write(wake_fd_.get(), &one, sizeof one) < 0 && errno == EINTR) {
  }
}

BlockingSession::OwnerRequests BlockingSession::take_requests() {
  std::lock_guard lock(mutex_);
  OwnerRequests requests;
  requests.close = std::exchange(close_request_, std::nullopt);
  requests.abort = abort_requested_;
  return requests;
}

void BlockingSession::mark_open(std::optional<UpgradeRequest> request, std::string subprotocol) {
  if (request) request_ = std::make_unique<const UpgradeRequest>(std::move(*request));
  subprotocol_ = std::move(subprotocol);
  open_.store(true, std::memory_order_release);
}

void BlockingSession::mark_closing() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  queue_.close();  // publishers stop at once; what was queued is dropped
}

void BlockingSession::mark_ended() {
  loop_ = nullptr;
  open_.store(false, std::memory_order_release);
  queue_.close();
  std::lock_guard lock(mutex_);
  closing_ = true;
  ended_ = true;
  wake_fd_.reset();
}

void BlockingSession::publish_owner_pending(std::size_t bytes) noexcept {
  owner_pending_.store(bytes, std::memory_order_relaxed);
  queue_.set_owner_pending(bytes);
}

}  // namespace ws::posix
