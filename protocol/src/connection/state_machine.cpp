// Every transition of a connection's lifecycle (docs/design.md draws this
// table). Reading this one function tells how a connection opens, how each
// side's close moves it, and when its transport may close.
#include "connection/state_machine.hpp"

namespace ws::detail {

namespace {

// After the close handshake: RFC 6455 7.1.1 has the server end the TCP
// connection first, so a client waits for that unless it already came.
Phase after_close_handshake(const Lifecycle& lifecycle) noexcept {
  return lifecycle.role == Role::server || lifecycle.stream_ended ? Phase::done : Phase::draining;
}

}  // namespace

Lifecycle next(Lifecycle lifecycle, LifecycleInput input) noexcept {
  using In = LifecycleInput;
  if (input == In::stream_ended) lifecycle.stream_ended = true;
  Phase& phase = lifecycle.phase;
  switch (phase) {
    case Phase::handshaking:
      if (input == In::handshake_completed) phase = Phase::open;
      if (input == In::handshake_failed || input == In::failed) phase = Phase::failed;
      break;
    case Phase::open:
      if (input == In::close_sent) phase = Phase::closing;
      // RFC 6455 5.5.1: the reply is queued at once, so a close received
      // while open completes the handshake for this side.
      if (input == In::close_received) phase = after_close_handshake(lifecycle);
      if (input == In::failed) phase = Phase::failed;
      break;
    case Phase::closing:
      if (input == In::close_received) phase = after_close_handshake(lifecycle);
      if (input == In::failed) phase = Phase::failed;
      break;
    case Phase::draining:
      if (input == In::stream_ended || input == In::wait_expired) phase = Phase::done;
      break;
    case Phase::done:
    case Phase::failed:
      break;
  }
  return lifecycle;
}

}  // namespace ws::detail
