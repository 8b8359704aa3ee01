#include "ws/memory/scripted_peer.hpp"

#include <utility>

#include "connection_port.hpp"

namespace ws::memory {

ScriptedPeer::ScriptedPeer(Connection& connection, const DuplexPipe::Faults& faults)
    : connection_(&connection), pipe_(faults) {}

void ScriptedPeer::send(ByteView bytes) {
  script_.insert(script_.end(), bytes.begin(), bytes.end());
}

void ScriptedPeer::end_stream() { end_requested_ = true; }

std::vector<std::byte> ScriptedPeer::take_received() { return std::exchange(received_, {}); }

// The peer reads what the Connection wrote.
bool ScriptedPeer::collect() {
  if (!pipe_.has_input(Side::b)) return false;
  const std::size_t old_size = received_.size();
  received_.resize(old_size + pipe_.available(Side::b));
  const IoResult result = pipe_.read(Side::b, MutableByteView(received_).subspan(old_size));
  received_.resize(old_size + result.bytes);
  if (result.error || result.end_of_stream) {
    // A fault injected on the peer's own read ends its collection too.
    pipe_.close(Side::b);
    saw_end_of_stream_ = true;
    return true;
  }
  return result.bytes > 0;
}

// The peer writes its script, then ends its stream when asked to.
bool ScriptedPeer::play() {
  if (!pipe_.can_write(Side::b)) return false;
  if (script_sent_ < script_.size()) {
    const IoResult result = pipe_.write(Side::b, ByteView(script_).subspan(script_sent_));
    if (result.error) {
      pipe_.close(Side::b);
      return true;
    }
    script_sent_ += result.bytes;
    if (script_sent_ == script_.size()) {
      script_.clear();
      script_sent_ = 0;
    }
    return result.bytes > 0;
  }
  if (end_requested_) {
    pipe_.shutdown_write(Side::b);
    return true;
  }
  return false;
}

PumpResult ScriptedPeer::run(const EventHandler& on_event, std::size_t max_steps) {
  PumpResult result;
  while (result.steps < max_steps) {
    ++result.steps;
    bool progress = detail::drain_events(Side::a, *connection_, on_event);
    progress |= detail::write_out(pipe_, Side::a, *connection_);
    progress |= collect();
    progress |= play();
    progress |= detail::read_in(pipe_, Side::a, *connection_);
    progress |= detail::drain_events(Side::a, *connection_, on_event);
    if (!progress) {
      result.quiet = true;
      break;
    }
  }
  return result;
}

}  // namespace ws::memory
