// ws::memory::pump: joins two Connections over a DuplexPipe and moves
// bytes, end of stream and events between them until nothing more happens.
//
// Thread safety: none. The pipe, both Connections and the handler are used
// on the calling thread only.
#pragma once

#include <cstddef>
#include <functional>

#include "ws/connection.hpp"
#include "ws/event.hpp"
#include "ws/memory/duplex_pipe.hpp"

namespace ws::memory {

/// Called for every event a Connection produces, with the side it sits on.
/// It may call the Connection (accept on UpgradeRequested, send, close ...);
/// the views in `event` are valid until it does.
using EventHandler = std::function<void(Side side, Connection& connection, const Event& event)>;

struct PumpResult {
  /// Steps run, the last (quiet) one included.
  std::size_t steps = 0;
  /// True when the last step moved nothing: no bytes, no end of stream, no
  /// event, no transport closed. False when max_steps ran out first.
  bool quiet = false;
};

/// Runs steps until one is quiet or `max_steps` have run. A step:
///   1. writes a's pending_output() into the pipe (one write, cut to the
///      pipe's chunk size) and consumes what was taken; closes a's endpoint
///      once a.should_close_transport();
///   2. reads into b.receive_buffer() (one read, cut) and commits it, or
///      calls b.receive_eof() at end of stream;
///   3. passes b's events to `on_event`;
///   4. and the same from b to a.
/// When an operation fails (an injected fault), the side that made it has
/// lost its transport: its Connection gets receive_eof(), its endpoint is
/// closed and the pump moves nothing more for it (the peer reads end of
/// stream). No time passes: advance_time is never called. Call pump again
/// after changing either Connection (a send from outside a handler, say).
PumpResult pump(Connection& a, Connection& b, DuplexPipe& pipe, const EventHandler& on_event = {},
                std::size_t max_steps = 1'000'000);

}  // namespace ws::memory
