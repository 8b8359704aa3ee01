#include "blocking_loop.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "ws/base/error.hpp"
#include "ws/posix/socket.hpp"

namespace ws::posix::detail {

namespace {

// Milliseconds until `deadline` for poll(), rounded up so that the loop does
// not wake a hair early and spin; -1 (wait forever) without a deadline.
int poll_timeout(std::optional<TimePoint> deadline, TimePoint now) noexcept {
  if (!deadline) return -1;
  if (*deadline <= now) return 0;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now).count();
  return static_cast<int>(std::min<std::int64_t>(wait, INT_MAX));
}

std::optional<TimePoint> earliest(std::optional<TimePoint> a, std::optional<TimePoint> b) noexcept {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

void drain_eventfd(int fd) noexcept {
  std::uint64_t count = 0;
  while (::read(fd, &count, sizeof count) < 0 && errno == EINTR) {
  }
}

}  // namespace

std::shared_ptr<BlockingSession> BlockingLoop::make_session(
    Role role, const channels::BackpressureLimits& limits) {
  return std::make_shared<BlockingSession>(BlockingSession::Key{}, role, limits);
}

BlockingLoop::BlockingLoop(int fd, Connection connection, BlockingHandler& handler,
                           const BlockingCommonOptions& options,
                           const AcceptOptions* accept_defaults)
    : fd_(fd),
      connection_(std::move(connection)),
      handler_(handler),
      options_(options),
      accept_defaults_(accept_defaults),
      session_(make_session(connection_.role(), options.backpressure)) {
  session_->attach(this);
}

BlockingLoop::~BlockingLoop() { finish(); }

std::error_code BlockingLoop::run() {
  const int wake_fd = session_->wake_fd();
  if (wake_fd < 0) {
    fail_transport(std::make_error_code(std::errc::too_many_files_open));
    finish();
    return result_;
  }
  TimePoint now = Clock::now();
  connection_.advance_time(now);
  for (;;) {
    dispatch_events();
    apply_session_requests();
    if (aborted_) break;
    if (const std::error_code error = flush(now)) {
      fail_transport(error);
      break;
    }
    if (connection_.should_close_transport()) break;

    std::optional<TimePoint> write_deadline;
    if (stalled_since_ && options_.write_timeout.count() > 0) {
      write_deadline = *stalled_since_ + options_.write_timeout;
      if (now >= *write_deadline) {
        // The peer stopped reading: nothing more can be said to it.
        fail_transport(std::make_error_code(std::errc::timed_out));
        break;
      }
    }

    const std::size_t pending = connection_.pending_output_size();
    const std::optional<TimePoint> deadline = earliest(connection_.next_deadline(), write_deadline);
    if (eof_ && pending == 0 && !deadline) {
      // The stream is over and no timer runs: nothing can happen any more.
      fail_transport(errc::unexpected_eof);
      break;
    }

    // Backpressure: stop reading (and so stop producing echoes and pongs)
    // while the peer is not taking what we already owe it.
    if (paused_ && pending < options_.backpressure.low_water) paused_ = false;
    if (!paused_ && pending > options_.backpressure.high_water) paused_ = true;

    if (read_filled_space_ && !eof_ && !paused_) {
      // A large message arrives in several reads: one poll for each would
      // double the system calls. What other threads queued is taken at the
      // top of the round all the same; their wake-up is drained by a later
      // poll.
      now = Clock::now();
      read_some();
      connection_.advance_time(now);
      continue;
    }

    pollfd polled[2]{};
    short socket_events = 0;
    if (!eof_ && !paused_) socket_events |= POLLIN;
    if (pending > 0) socket_events |= POLLOUT;
    // A socket polled for nothing would still report POLLHUP and spin.
    polled[0].fd = socket_events != 0 ? fd_ : -1;
    polled[0].events = socket_events;
    polled[1].fd = wake_fd;
    polled[1].events = POLLIN;

    const int ready = ::poll(polled, 2, poll_timeout(deadline, now));
    if (ready < 0 && errno != EINTR) {
      fail_transport(last_system_error());
      break;
    }
    now = Clock::now();
    if (ready > 0) {
      if ((polled[1].revents & POLLIN) != 0) drain_eventfd(wake_fd);
      if ((socket_events & POLLIN) != 0 &&
          (polled[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        read_some();
      }
    }
    connection_.advance_time(now);
  }
  finish();
  return result_;
}

void BlockingLoop::dispatch_events() {
  while (std::optional<Event> event = connection_.next_event()) {
    if (const auto* message = std::get_if<Message>(&*event)) {
      if (opened_ && !closed_) handler_.on_message(session_, *message);
    } else if (const auto* ping = std::get_if<Ping>(&*event)) {
      if (opened_ && !closed_) handler_.on_ping(session_, *ping);
    } else if (const auto* pong = std::get_if<Pong>(&*event)) {
      if (opened_ && !closed_) handler_.on_pong(session_, *pong);
    } else if (const auto* closed = std::get_if<Closed>(&*event)) {
      report_closed(*closed);
    } else if (const auto* upgrade = std::get_if<UpgradeRequested>(&*event)) {
      answer_upgrade(*upgrade->request);
    } else if (std::holds_alternative<Opened>(*event)) {
      std::optional<UpgradeRequest> request;
      if (const UpgradeRequest* seen = connection_.request()) request = *seen;
      session_->mark_open(std::move(request), std::string(connection_.subprotocol()));
      opened_ = true;
      if (options_.connections != nullptr && !options_.connections->add(session_)) {
        // Opened while the server shuts down: say goodbye at once.
        (void)session_->close(CloseCode::going_away);
      }
      handler_.on_open(session_);
    } else if (const auto* rejected = std::get_if<Rejected>(&*event)) {
      // Client: the Closed with errc::unexpected_status follows.
      handler_.on_rejected(session_, *rejected);
    }
  }
}

void BlockingLoop::answer_upgrade(const UpgradeRequest& request) {
  if (options_.connections != nullptr && options_.connections->shutting_down()) {
    (void)connection_.reject(503, "shutting down");
    return;
  }
  const AcceptOptions defaults = accept_defaults_ != nullptr ? *accept_defaults_ : AcceptOptions{};
  const UpgradeDecision decision = handler_.on_upgrade(request, defaults);
  std::error_code error;
  if (decision.accept) {
    error = connection_.accept(decision.options);
  } else {
    error = connection_.reject(decision.status, decision.body, decision.headers);
  }
  // The application's options were not valid HTTP: answer the client anyway.
  if (error) (void)connection_.reject(500, "invalid handshake options");
}

void BlockingLoop::apply_session_requests() {
  const BlockingSession::OwnerRequests requests = session_->take_requests();
  if (requests.abort) {
    // Also after Closed: output stuck behind a peer that does not read.
    fail_transport(std::make_error_code(std::errc::operation_canceled));
    aborted_ = true;
    return;
  }
  if (closed_) return;
  // Messages first: a close requested after them goes out after them.
  send_queued_messages();
  if (!policy_close_sent_ && (session_->queue_.over_limit() || connection_queue_full_)) {
    policy_close_sent_ = true;
    session_->mark_closing();
    (void)connection_.close(session_->queue_.close_code());
  }
  if (requests.close) (void)connection_.close(requests.close->code, requests.close->reason);
}

void BlockingLoop::send_queued_messages() {
  session_->queue_.take_all(batch_);
  for (const auto& message : batch_) {
    // Connection's own output limit: the backlog is too large, same policy.
    if (send_one(message) == errc::output_queue_full) connection_queue_full_ = true;
  }
  if (!batch_.empty()) session_->publish_owner_pending(connection_.pending_output_size());
  batch_.clear();
}

std::error_code BlockingLoop::send_one(const std::shared_ptr<const PreparedMessage>& message) {
  if (connection_.role() == Role::server) return connection_.send_prepared(message);
  // A client masks each frame with a fresh key, so it cannot reuse the
  // prepared bytes: it sends the payload, the last payload_size() bytes.
  const ByteView payload = message->frame().last(message->payload_size());
  return message->kind() == MessageKind::text ? connection_.send_text(as_text(payload))
                                              : connection_.send_binary(payload);
}

std::error_code BlockingLoop::send_now(MessageKind kind, ByteView payload) {
  if (closed_) return errc::not_open;
  send_queued_messages();
  return kind == MessageKind::text ? connection_.send_text(as_text(payload))
                                   : connection_.send_binary(payload);
}

std::error_code BlockingLoop::send_now(const std::shared_ptr<const PreparedMessage>& message) {
  if (closed_) return errc::not_open;
  send_queued_messages();
  return send_one(message);
}

std::error_code BlockingLoop::flush(TimePoint now) {
  std::size_t pending = connection_.pending_output_size();
  while (pending > 0) {
    const Result<std::size_t> written = write_some(fd_, connection_.pending_output());
    if (!written) return written.error();
    if (*written == 0) break;  // the socket buffer is full
    connection_.consume_output(*written);
    stalled_since_ = now;  // progress
    pending = connection_.pending_output_size();
  }
  if (pending == 0) {
    stalled_since_.reset();
  } else if (!stalled_since_) {
    stalled_since_ = now;
  }
  session_->publish_owner_pending(pending);
  return {};
}

void BlockingLoop::read_some() {
  read_filled_space_ = false;
  const MutableByteView space = connection_.receive_buffer();
  if (space.empty()) return;  // events first; the next round reads again
  for (;;) {
    const ssize_t received = ::recv(fd_, space.data(), space.size(), MSG_DONTWAIT);
    if (received > 0) {
      connection_.commit_received(static_cast<std::size_t>(received));
      read_filled_space_ = static_cast<std::size_t>(received) == space.size();
      return;
    }
    if (received < 0 && errno == EINTR) continue;
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // End of stream, or a reset: either way the peer is gone. The
    // Connection decides what that means (unexpected_eof unless closed).
    eof_ = true;
    connection_.receive_eof();
    return;
  }
}

void BlockingLoop::report_closed(const Closed& closed) {
  if (closed_) return;
  closed_ = true;
  result_ = closed.error;
  session_->mark_closing();
  if (opened_) handler_.on_close(session_, closed);
}

void BlockingLoop::fail_transport(std::error_code error) {
  Closed closed;
  closed.code = CloseCode::abnormal;
  closed.error = error;
  closed.sent_code = CloseCode::abnormal;
  report_closed(closed);
}

void BlockingLoop::finish() {
  if (finished_) return;
  finished_ = true;
  session_->mark_ended();
  if (options_.registry != nullptr) options_.registry->leave_all(session_.get());
  if (options_.connections != nullptr) options_.connections->remove(session_.get());
  // The caller owns the descriptor; shutting it down sends our FIN now (a
  // server closes first, RFC 6455 7.1.1) and wakes anyone else blocked on it.
  ::shutdown(fd_, SHUT_RDWR);
}

}  // namespace ws::posix::detail
