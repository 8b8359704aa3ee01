// The life of a Connection with every close-related fact in one value, and
// every change of it in one table (state_machine.cpp; docs/design.md draws
// it). The Connection feeds it inputs; nothing else changes the phase.
#pragma once

#include <cstdint>

#include "ws/connection_state.hpp"
#include "ws/frame/close_code.hpp"

namespace ws::detail {

/// Where a connection is in its life. The public State is a coarser view
/// (Lifecycle::state()): the three closed phases say how it ended and what
/// the transport still waits for.
enum class Phase : std::uint8_t {
  handshaking,  // State::handshaking
  open,         // State::open
  closing,      // State::closing: this side's close went out first; the peer's is awaited
  draining,     // State::closed: closes exchanged; a client waits for the server to
                // end the stream (RFC 6455 7.1.1), or for the close timeout
  done,         // State::closed: closes exchanged and nothing more awaited
  failed,       // State::closed: ended without the close handshake (an error, a
                // limit, a timeout, a rejection, the stream's end)
};

enum class LifecycleInput : std::uint8_t {
  handshake_completed,  // 101 sent (server) or validated (client)
  handshake_failed,     // rejected, malformed, timed out or ended
  close_sent,           // this side queued a close frame first
  close_received,       // the peer's close frame arrived (the reply, if due, is queued)
  failed,               // protocol violation, limit, end of stream mid-frame, timeout
  stream_ended,         // the transport's read side ended (receive_eof)
  wait_expired,         // the close timeout ran out while draining
};

struct Lifecycle {
  Phase phase = Phase::handshaking;
  Role role = Role::server;
  bool stream_ended = false;  // receive_eof() was called (whatever the phase)
  // The close code this side sent, reported in every Closed event;
  // CloseCode::abnormal while none was sent. Written by queue_close(), the
  // one place a close frame is framed (the phase follows from the input
  // fed after it: close_sent, close_received or failed).
  CloseCode sent_close_code = CloseCode::abnormal;

  State state() const noexcept {
    switch (phase) {
      case Phase::handshaking:
        return State::handshaking;
      case Phase::open:
        return State::open;
      case Phase::closing:
        return State::closing;
      default:
        return State::closed;
    }
  }
  bool is_closed() const noexcept { return phase >= Phase::draining; }
  /// Frames are parsed and sent (open, or closing: the peer may still send
  /// data before its close).
  bool carries_frames() const noexcept { return phase == Phase::open || phase == Phase::closing; }
  /// The peer's close (or, draining, the end of its stream) is awaited, so
  /// the close timeout runs.
  bool awaits_peer() const noexcept { return phase == Phase::closing || phase == Phase::draining; }
  /// Nothing more will come that the connection waits for: once its output
  /// is written the transport is closed.
  bool finished() const noexcept { return phase == Phase::done || phase == Phase::failed; }
};

/// The lifecycle after `input`. Inputs that cannot happen in a phase (the
/// Connection checks before it feeds them) leave the phase unchanged;
/// stream_ended is always recorded.
Lifecycle next(Lifecycle lifecycle, LifecycleInput input) noexcept;

}  // namespace ws::detail
