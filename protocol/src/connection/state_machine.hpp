// Every transition of a Connection's state, in one table (docs/design.md
// draws it). The Connection feeds it inputs; nothing else changes the state.
#pragma once

#include <cstdint>

#include "ws/connection_state.hpp"

namespace ws::detail {

enum class StateInput : std::uint8_t {
  handshake_completed,  // 101 sent (server) or validated (client)
  handshake_failed,     // rejected, malformed, timed out or ended
  close_sent,           // this side queued a close frame first
  close_received,       // the peer's close frame arrived
  failed,               // protocol violation, limit, end of stream, timeout
};

/// The state after `input` in `state`. Inputs that cannot happen in a state
/// (the Connection checks before it feeds them) leave the state unchanged.
State next_state(State state, StateInput input) noexcept;

}  // namespace ws::detail
