// The moves shared by pump() and ScriptedPeer: one Connection on one side of
// a DuplexPipe. Each returns whether it made progress.
#pragma once

#include "ws/connection.hpp"
#include "ws/memory/duplex_pipe.hpp"
#include "ws/memory/pump.hpp"

namespace ws::memory::detail {

/// One write of the Connection's pending output; closes the endpoint when the
/// Connection says its transport should close.
bool write_out(DuplexPipe& pipe, Side side, Connection& connection);

/// One read into the Connection's receive buffer, or its end of stream.
bool read_in(DuplexPipe& pipe, Side side, Connection& connection);

/// Passes every waiting event to `on_event` (when set).
bool drain_events(Side side, Connection& connection, const EventHandler& on_event);

}  // namespace ws::memory::detail
