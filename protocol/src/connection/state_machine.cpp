#include "connection/state_machine.hpp"

namespace ws::detail {

State next_state(State state, StateInput input) noexcept {
  switch (state) {
    case State::handshaking:
      switch (input) {
        case StateInput::handshake_completed:
          return State::open;
        case StateInput::handshake_failed:
        case StateInput::failed:
          return State::closed;
        default:
          return state;
      }
    case State::open:
      switch (input) {
        case StateInput::close_sent:
          return State::closing;
        // RFC 6455 5.5.1: the close reply is queued at once, so a close
        // received while open completes the handshake for this side.
        case StateInput::close_received:
        case StateInput::failed:
          return State::closed;
        default:
          return state;
      }
    case State::closing:
      switch (input) {
        case StateInput::close_received:
        case StateInput::failed:
          return State::closed;
        default:
          return state;
      }
    case State::closed:
      return state;
  }
  return state;
}

}  // namespace ws::detail
