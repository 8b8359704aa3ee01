#include "ws/memory/pump.hpp"

#include "connection_port.hpp"

namespace ws::memory {
namespace {

bool transfer(DuplexPipe& pipe, Side from, Connection& writer, Connection& reader,
              const EventHandler& on_event) {
  bool progress = detail::write_out(pipe, from, writer);
  progress |= detail::read_in(pipe, peer_of(from), reader);
  progress |= detail::drain_events(peer_of(from), reader, on_event);
  return progress;
}

}  // namespace

PumpResult pump(Connection& a, Connection& b, DuplexPipe& pipe, const EventHandler& on_event,
                std::size_t max_steps) {
  PumpResult result;
  while (result.steps < max_steps) {
    ++result.steps;
    // Events queued outside a step (a receive_eof by the caller, say) first.
    bool progress = detail::drain_events(Side::a, a, on_event);
    progress |= detail::drain_events(Side::b, b, on_event);
    progress |= transfer(pipe, Side::a, a, b, on_event);
    progress |= transfer(pipe, Side::b, b, a, on_event);
    if (!progress) {
      result.quiet = true;
      break;
    }
  }
  return result;
}

}  // namespace ws::memory
