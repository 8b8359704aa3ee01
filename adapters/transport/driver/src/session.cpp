#include "ws/driver/session.hpp"

#include "dispatch_scope.hpp"
#include "ws/base/error.hpp"
#include "ws/driver/driver.hpp"

namespace ws {

Session::Session(Key, Role role, const BackpressureLimits& limits, std::shared_ptr<Waker> waker)
    : role_(role), outbox_(limits), waker_(std::move(waker)) {}

Session::~Session() = default;

Driver* Session::dispatching_driver() const noexcept {
  // Only the owner thread can be inside this session's dispatch, so driver_
  // is read on the thread that writes it.
  return detail::dispatching_session() == this ? driver_ : nullptr;
}

std::error_code Session::push(const std::shared_ptr<const PreparedMessage>& message) {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return errc::not_open;
  }
  switch (outbox_.push(message)) {
    case Outbox::PushResult::queued:
      return {};
    case Outbox::PushResult::queued_wake:
      wake();
      return {};
    case Outbox::PushResult::dropped:
      return errc::output_queue_full;
    case Outbox::PushResult::over_limit:
      wake();  // the owner closes the connection with the policy's code
      return errc::output_queue_full;
    case Outbox::PushResult::closed:
      break;
  }
  return errc::not_open;  // closed, or the close policy already fired: closing
}

void Session::wake() {
  // One wake-up covers everything queued until the owner takes the requests.
  if (!wake_pending_.exchange(true, std::memory_order_acq_rel) && waker_) waker_->wake();
}

std::error_code Session::send_payload(MessageKind kind, ByteView payload) {
  if (Driver* driver = dispatching_driver()) return driver->send_direct(kind, payload);
  return push(PreparedMessage::make(kind, payload));
}

std::error_code Session::send_text(std::string_view text) {
  return send_payload(MessageKind::text, as_bytes(text));
}

std::error_code Session::send_binary(ByteView data) {
  return send_payload(MessageKind::binary, data);
}

std::error_code Session::send(const std::shared_ptr<const PreparedMessage>& message) {
  if (Driver* driver = dispatching_driver()) return driver->send_direct(message);
  return push(message);
}

bool Session::deliver(const std::shared_ptr<const PreparedMessage>& message) {
  return !send(message);
}

void Session::fell_behind() {
  // An error only means a close is already under way: nothing more to do.
  (void)close(CloseCode::try_again_later, "fell behind; resume from the last position");
}

std::error_code Session::close(CloseCode code, std::string_view reason) {
  return close(static_cast<std::uint16_t>(code), reason);
}

std::error_code Session::close(std::uint16_t code, std::string_view reason) {
  if (const std::error_code error = check_close_to_send(code, reason)) return error;
  Driver* const driver = dispatching_driver();
  // Made before the lock: nothing below it can fail.
  auto request = driver == nullptr
                     ? std::make_unique<CloseRequest>(CloseRequest{code, std::string(reason)})
                     : nullptr;
  {
    std::lock_guard lock(mutex_);
    if (closing_) return errc::not_open;
    closing_ = true;
    close_request_ = std::move(request);
  }
  SessionState expected = SessionState::open;
  state_.compare_exchange_strong(expected, SessionState::closing, std::memory_order_acq_rel);
  // Inside a handler the close goes in now, after what was sent before it.
  if (driver != nullptr) return driver->close_direct(code, reason);
  wake();
  return {};
}

void Session::abort() {
  {
    std::lock_guard lock(mutex_);
    if (abort_requested_) return;
    abort_requested_ = true;
    closing_ = true;
  }
  wake();
}

std::size_t Session::backlog_bytes() const {
  return outbox_.queued_bytes() + outbox_.owner_pending();
}

Session::Requests Session::take_requests() {
  // An exchange, not a store: a sender whose exchange saw `true` (and so did
  // not wake us) is then ordered before everything read below.
  wake_pending_.exchange(false, std::memory_order_acq_rel);
  Requests requests;
  std::lock_guard lock(mutex_);
  if (close_request_) requests.close = std::move(*close_request_);
  close_request_.reset();
  requests.abort = abort_requested_;
  return requests;
}

void Session::mark_open() {
  SessionState expected = SessionState::connecting;
  state_.compare_exchange_strong(expected, SessionState::open, std::memory_order_acq_rel);
}

void Session::mark_closing() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  outbox_.close();
  SessionState state = state_.load(std::memory_order_acquire);
  while (state != SessionState::closed && state != SessionState::closing &&
         !state_.compare_exchange_weak(state, SessionState::closing, std::memory_order_acq_rel)) {
  }
}

void Session::mark_ended() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  outbox_.close();
  outbox_.set_owner_pending(0);
  state_.store(SessionState::closed, std::memory_order_release);
}

}  // namespace ws
