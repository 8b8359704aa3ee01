// Time: keepalive pings, idle, close and handshake timeouts. The connection
// never reads a clock; it acts on the time advance_time() is given.
#include "connection/connection_impl.hpp"

namespace ws {

namespace {
bool enabled(Duration duration) noexcept { return duration.count() > 0; }
}  // namespace

// The close counts as sent (or received) at the next advance_time, as input
// does: the last one may be long past when no timer ran, and a wait dated
// from it would end before the peer could answer.
void Connection::Impl::start_close_wait() noexcept { close_wait_pending = true; }

std::optional<TimePoint> Connection::Impl::deadline() const noexcept {
  if (!now) return std::nullopt;
  std::optional<TimePoint> earliest;
  const auto consider = [&earliest](TimePoint when) {
    if (!earliest || when < *earliest) earliest = when;
  };
  const Timeouts& timeouts = config.timeouts;
  switch (state) {
    case State::handshaking:
      if (enabled(timeouts.handshake_timeout))
        consider(handshake_since + timeouts.handshake_timeout);
      break;
    case State::open:
      if (enabled(timeouts.idle_timeout)) consider(last_input + timeouts.idle_timeout);
      if (enabled(timeouts.keepalive_interval)) {
        consider(std::max(last_input, last_keepalive) + timeouts.keepalive_interval);
      }
      break;
    case State::closing:
    case State::closed:
      // Waiting for the peer's close frame, or as a client for the server to
      // end the stream after a clean close.
      if (state == State::closed && (failed || peer_ended || role == Role::server)) break;
      if (!enabled(timeouts.close_timeout)) break;
      if (close_wait_pending) {
        consider(*now);  // the next advance_time starts the wait: wanted now
      } else if (close_wait_since) {
        consider(*close_wait_since + timeouts.close_timeout);
      }
      break;
  }
  return earliest;
}

void Connection::advance_time(TimePoint now) {
  Impl& c = *impl_;
  if (!c.now) {
    c.last_input = now;
    c.last_keepalive = now;
    c.handshake_since = now;
    if (c.state == State::closing || c.state == State::closed) c.close_wait_since = now;
  }
  c.now = now;
  if (c.input_since_tick) {
    c.last_input = now;
    c.input_since_tick = false;
  }
  if (c.close_wait_pending) {
    c.close_wait_since = now;
    c.close_wait_pending = false;
  }
  const std::optional<TimePoint> due = c.deadline();
  if (!due || now < *due || c.pending_event) return;

  const Timeouts& timeouts = c.config.timeouts;
  switch (c.state) {
    case State::handshaking:
      if (std::optional<Event> event = c.fail(errc::handshake_timeout))
        c.pending_event = std::move(event);
      break;
    case State::open:
      if (enabled(timeouts.idle_timeout) && now >= c.last_input + timeouts.idle_timeout) {
        if (std::optional<Event> event = c.fail(errc::idle_timeout))
          c.pending_event = std::move(event);
      } else if (c.check_can_send(max_frame_header_size) == std::error_code{}) {
        c.queue_frame(Opcode::ping, true, {}, detail::OutputQueue::Placement::ahead_of_data);
        c.last_keepalive = now;
      } else {
        c.last_keepalive = now;  // output is backed up; try again an interval later
      }
      break;
    case State::closing:
      if (std::optional<Event> event = c.fail(errc::close_timeout))
        c.pending_event = std::move(event);
      break;
    case State::closed:
      c.peer_ended = true;  // the client stops waiting for the server's end of stream
      break;
  }
}

std::optional<TimePoint> Connection::next_deadline() const noexcept { return impl_->deadline(); }

}  // namespace ws
