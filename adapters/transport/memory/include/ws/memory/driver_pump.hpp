// ws::memory::pump_drivers: the memory transport of the one driver. Two
// ws::Drivers (each with its Handler and Session) joined by a DuplexPipe,
// with the pipe's cuts and injected failures, and a clock the caller sets:
// the same driver the socket transports run, with every byte and every
// point of failure under the test's control.
//
// Thread safety: the pipe and both drivers are used on the calling thread.
// Sessions may be used from other threads as always; their Waker is the
// caller's business (run pump_drivers again after they sent).
#pragma once

#include <cstddef>

#include "ws/config.hpp"
#include "ws/driver/driver.hpp"
#include "ws/memory/duplex_pipe.hpp"

namespace ws::memory {

struct DriverPumpResult {
  /// Rounds run, the last (quiet) one included.
  std::size_t rounds = 0;
  /// True when the last round moved nothing: no bytes, no end of stream, no
  /// transport closed, and neither driver had more work for this time.
  bool quiet = false;
};

/// Runs rounds at time `now` until one is quiet or `max_rounds` ran. A
/// round, for a then b: one write of its pending output into the pipe (cut
/// as the pipe says); reads into its receive_buffer() while it wants to read
/// (or its end of stream); step(now); and once should_close_transport(),
/// its endpoint is closed and transport_closed() called. A failed operation
/// (an injected fault) is transport_failed() for that side. Call it again
/// with a later `now` to let timers act.
DriverPumpResult pump_drivers(Driver& a, Driver& b, DuplexPipe& pipe, TimePoint now,
                              std::size_t max_rounds = 1'000'000);

}  // namespace ws::memory
