#include "connection_port.hpp"

#include <optional>

namespace ws::memory::detail {
namespace {

// An operation failed: this side's transport is gone. The Connection learns
// it as an end of stream; the endpoint is closed so the peer reads one too.
void lose_transport(DuplexPipe& pipe, Side side, Connection& connection) {
  pipe.close(side);
  connection.receive_eof();
}

}  // namespace

bool write_out(DuplexPipe& pipe, Side side, Connection& connection) {
  if (!pipe.is_usable(side)) return false;
  bool progress = false;
  if (pipe.can_write(side) && connection.pending_output_size() > 0) {
    const IoResult result = pipe.write(side, connection.pending_output());
    if (result.error) {
      lose_transport(pipe, side, connection);
      return true;
    }
    connection.consume_output(result.bytes);
    progress = result.bytes > 0;
  }
  if (connection.should_close_transport()) {
    pipe.close(side);
    progress = true;
  }
  return progress;
}

bool read_in(DuplexPipe& pipe, Side side, Connection& connection) {
  if (!pipe.has_input(side)) return false;
  const MutableByteView space = connection.receive_buffer();
  if (space.empty()) return false;  // input limit reached: events must be drained first
  const IoResult result = pipe.read(side, space);
  if (result.error) {
    lose_transport(pipe, side, connection);
    return true;
  }
  if (result.end_of_stream) {
    connection.receive_eof();
    return true;
  }
  connection.commit_received(result.bytes);
  return result.bytes > 0;
}

bool drain_events(Side side, Connection& connection, const EventHandler& on_event) {
  bool progress = false;
  while (std::optional<Event> event = connection.next_event()) {
    progress = true;
    if (on_event) on_event(side, connection, *event);
  }
  return progress;
}

}  // namespace ws::memory::detail
