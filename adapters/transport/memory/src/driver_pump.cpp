#include "ws/memory/driver_pump.hpp"

namespace ws::memory {
namespace {

// One side's share of a round; returns whether it made progress.
bool turn(DuplexPipe& pipe, Side side, Driver& driver, TimePoint now) {
  if (driver.finished()) return false;
  bool progress = false;
  if (pipe.is_usable(side) && pipe.can_write(side) && driver.wants_write()) {
    const IoResult written = pipe.write(side, driver.pending_output());
    if (written.error) {
      pipe.close(side);
      driver.transport_failed(written.error);
      progress = true;
    } else if (written.bytes > 0) {
      driver.consume_output(written.bytes);
      progress = true;
    }
  }
  while (driver.wants_read() && pipe.has_input(side)) {
    const MutableByteView space = driver.receive_buffer();
    if (space.empty()) break;  // the input limit: the step drains it
    const IoResult read = pipe.read(side, space);
    progress = true;
    if (read.error) {
      pipe.close(side);
      driver.transport_failed(read.error);
      break;
    }
    if (read.end_of_stream) {
      driver.receive_eof();
      break;
    }
    driver.commit_received(read.bytes);
  }
  const std::size_t pending = driver.pending_output_size();
  if (driver.step(now) == Driver::Turn::yield) progress = true;
  // A step may produce output of its own (a keepalive ping, a queued send):
  // the next round writes it.
  if (driver.pending_output_size() > pending) progress = true;
  if (driver.should_close_transport()) {
    pipe.close(side);
    driver.transport_closed();
    progress = true;
  }
  return progress;
}

}  // namespace

DriverPumpResult pump_drivers(Driver& a, Driver& b, DuplexPipe& pipe, TimePoint now,
                              std::size_t max_rounds) {
  DriverPumpResult result;
  while (result.rounds < max_rounds) {
    ++result.rounds;
    bool progress = turn(pipe, Side::a, a, now);
    progress |= turn(pipe, Side::b, b, now);
    if (!progress) {
      result.quiet = true;
      break;
    }
  }
  return result;
}

}  // namespace ws::memory
