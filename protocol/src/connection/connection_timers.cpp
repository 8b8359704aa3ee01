// Time: keepalive pings, idle, close and handshake timeouts. The connection
// never reads a clock; it acts on the time advance_time() is given.
#include "connection/connection_impl.hpp"

namespace ws {

namespace {
bool enabled(Duration duration) noexcept { return duration.count() > 0; }
}  // namespace

std::optional<TimePoint> Connection::Impl::deadline() const noexcept {
  if (!timers.now) return std::nullopt;
  std::optional<TimePoint> earliest;
  const auto consider = [&earliest](TimePoint when) {
    if (!earliest || when < *earliest) earliest = when;
  };
  const Timeouts& timeouts = config.timeouts;
  switch (lifecycle.state()) {
    case State::handshaking:
      if (enabled(timeouts.handshake_timeout))
        consider(timers.handshake_since + timeouts.handshake_timeout);
      break;
    case State::open:
      if (enabled(timeouts.idle_timeout)) consider(timers.last_input + timeouts.idle_timeout);
      if (enabled(timeouts.keepalive_interval)) {
        consider(std::max(timers.last_input, timers.last_keepalive) + timeouts.keepalive_interval);
      }
      break;
    case State::closing:
    case State::closed:
      // Waiting for the peer's close frame, or as a client for the server to
      // end the stream after a clean close.
      if (!lifecycle.awaits_peer() || !enabled(timeouts.close_timeout)) break;
      if (timers.close_wait_pending) {
        consider(*timers.now);  // the next advance_time starts the wait: wanted now
      } else if (timers.close_wait_since) {
        consider(*timers.close_wait_since + timeouts.close_timeout);
      }
      break;
  }
  return earliest;
}

void Connection::advance_time(TimePoint now) {
  Impl& c = *impl_;
  detail::Timers& t = c.timers;
  const State state = c.lifecycle.state();
  if (!t.now) {
    t.last_input = now;
    t.last_keepalive = now;
    t.handshake_since = now;
    if (state == State::closing || state == State::closed) t.close_wait_since = now;
  }
  t.now = now;
  if (t.input_since_tick) {
    t.last_input = now;
    t.input_since_tick = false;
  }
  if (t.close_wait_pending) {
    t.close_wait_since = now;
    t.close_wait_pending = false;
  }
  const std::optional<TimePoint> due = c.deadline();
  if (!due || now < *due || c.pending_event) return;

  const Timeouts& timeouts = c.config.timeouts;
  switch (state) {
    case State::handshaking:
      if (std::optional<Event> event = c.fail(errc::handshake_timeout))
        c.pending_event = std::move(event);
      break;
    case State::open:
      if (enabled(timeouts.idle_timeout) && now >= t.last_input + timeouts.idle_timeout) {
        if (std::optional<Event> event = c.fail(errc::idle_timeout))
          c.pending_event = std::move(event);
      } else if (c.check_can_send(max_frame_header_size) == std::error_code{}) {
        c.queue_frame(Opcode::ping, true, {}, detail::OutputQueue::Placement::ahead_of_data);
        t.last_keepalive = now;
      } else {
        t.last_keepalive = now;  // output is backed up; try again an interval later
      }
      break;
    case State::closing:
      if (std::optional<Event> event = c.fail(errc::close_timeout))
        c.pending_event = std::move(event);
      break;
    case State::closed:
      // The client stops waiting for the server's end of stream.
      c.feed(detail::LifecycleInput::wait_expired);
      break;
  }
}

std::optional<TimePoint> Connection::next_deadline() const noexcept { return impl_->deadline(); }

}  // namespace ws
