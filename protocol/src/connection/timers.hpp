// What the connection remembers of the time it was given (advance_time):
// when input last came, when the last keepalive went, when the close wait
// and the handshake started. The rules are in connection_timers.cpp.
#pragma once

#include <optional>

#include "ws/config.hpp"

namespace ws::detail {

struct Timers {
  std::optional<TimePoint> now;  // the last time given; none before the first
  TimePoint last_input{};
  TimePoint last_keepalive{};
  std::optional<TimePoint> close_wait_since;
  TimePoint handshake_since{};
  bool input_since_tick = false;  // input arrived since the last advance_time
  // A close was sent or received since the last advance_time: the wait for
  // the peer starts at the next one (the last may be long past).
  bool close_wait_pending = false;

  /// Input arrived: it counts as received at the next advance_time.
  void note_input() noexcept { input_since_tick = true; }
};

}  // namespace ws::detail
