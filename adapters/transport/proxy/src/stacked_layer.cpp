#include "ws/proxy/stacked_layer.hpp"

#include <cassert>
#include <utility>

namespace ws {

StackedLayer::StackedLayer(std::unique_ptr<StreamLayer> lower, std::unique_ptr<StreamLayer> upper)
    : lower_(std::move(lower)), upper_(std::move(upper)) {
  assert(lower_ && upper_);
}

// ---- Wire bytes in: the lower's -------------------------------------------------

MutableByteView StackedLayer::wire_buffer() { return lower_->wire_buffer(); }
void StackedLayer::commit_wire(std::size_t n) { lower_->commit_wire(n); }
std::size_t StackedLayer::receive_wire(ByteView bytes) { return lower_->receive_wire(bytes); }
std::size_t StackedLayer::wire_room() const noexcept { return lower_->wire_room(); }
void StackedLayer::receive_wire_eof() { lower_->receive_wire_eof(); }

// ---- Decoded bytes: the upper's -------------------------------------------------

std::size_t StackedLayer::read(MutableByteView into) {
  std::size_t total = 0;
  // Each round moves what the lower decoded into the upper, then what the
  // upper decoded out; a round that moved nothing ends it. The upper's
  // wire input is bounded, so a long stream takes several rounds.
  while (true) {
    pump_up();
    const std::size_t n = upper_->read(into.subspan(total));
    total += n;
    // The upper's handshake answers (and the lower's, once up, lets the
    // upper's waiting bytes go).
    pump_down();
    if (n == 0 || total == into.size() || error()) break;
  }
  return total;
}

bool StackedLayer::read_ended() const noexcept { return upper_->read_ended(); }

// ---- Bytes to send ----------------------------------------------------------------

std::size_t StackedLayer::write(std::span<const OutputBuffer> buffers) {
  // Writing may be what completes a handshake below (a layer that advances
  // its handshake in write()), so the lower is driven first.
  pump_up();
  pump_down();
  if (shutdown_) return 0;
  const std::size_t taken = upper_->write(buffers);
  pump_down();
  return taken;
}

void StackedLayer::shutdown() {
  if (shutdown_) return;
  shutdown_ = true;
  upper_->shutdown();
  pump_down();  // the upper's end (close_notify), then the lower's
}

bool StackedLayer::shutdown_started() const noexcept { return shutdown_; }

// ---- Wire bytes out: the lower's ----------------------------------------------------

std::span<const OutputBuffer> StackedLayer::pending_wire() {
  pump_down();
  return lower_->pending_wire();
}

std::size_t StackedLayer::pending_wire_size() const noexcept {
  // The upper's bytes count once they can go (the lower's handshake is
  // done): pending_wire() moves them down. Before that they are not
  // writable, and counting them would have a transport wait to write
  // nothing.
  const std::size_t upper =
      lower_->handshake_done() && !lower_->error() ? upper_->pending_wire_size() : 0;
  return lower_->pending_wire_size() + upper;
}

void StackedLayer::consume_wire(std::size_t n) {
  lower_->consume_wire(n);
  pump_down();  // what the lower's bound held back
}

void StackedLayer::mark_wire_in_flight(std::size_t n) { lower_->mark_wire_in_flight(n); }

// ---- State ----------------------------------------------------------------------------

std::error_code StackedLayer::error() const noexcept {
  if (const std::error_code error = lower_->error()) return error;
  return upper_->error();
}

std::string_view StackedLayer::error_detail() const noexcept {
  return lower_->error() ? lower_->error_detail() : upper_->error_detail();
}

bool StackedLayer::handshake_done() const noexcept {
  return lower_->handshake_done() && upper_->handshake_done();
}

std::string_view StackedLayer::selected_protocol() const noexcept {
  return upper_->selected_protocol();
}

void StackedLayer::release_idle_buffers() noexcept {
  upper_->release_idle_buffers();
  lower_->release_idle_buffers();
}

// ---- Between the two ---------------------------------------------------------------------

void StackedLayer::pump_up() {
  while (!lower_->error()) {
    const MutableByteView space = upper_->wire_buffer();
    if (space.empty()) break;
    const std::size_t n = lower_->read(space);
    upper_->commit_wire(n);
    if (n == 0) break;
  }
  if (!upper_eof_given_ && lower_->read_ended()) {
    upper_eof_given_ = true;
    upper_->receive_wire_eof();
  }
}

void StackedLayer::pump_down() {
  // The lower's handshake is driven by its read(); with nothing to read
  // this only advances it.
  if (!lower_->handshake_done() || lower_->error()) {
    (void)lower_->read({});
    if (!lower_->handshake_done() || lower_->error()) return;
  }
  while (upper_->pending_wire_size() > 0) {
    const std::size_t taken = lower_->write(upper_->pending_wire());
    if (taken == 0) break;
    upper_->consume_wire(taken);
  }
  if (shutdown_ && upper_->pending_wire_size() == 0 && !lower_->shutdown_started()) {
    lower_->shutdown();
  }
}

}  // namespace ws

namespace ws {

std::unique_ptr<StreamLayer> stack_layers(std::unique_ptr<StreamLayer> lower,
                                          std::unique_ptr<StreamLayer> upper) {
  return std::make_unique<StackedLayer>(std::move(lower), std::move(upper));
}

}  // namespace ws
