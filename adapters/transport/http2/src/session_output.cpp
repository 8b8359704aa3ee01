#include "session_output.hpp"

#include <nghttp2/nghttp2.h>

namespace ws::http2::detail {

namespace {
// nghttp2's output is produced while less than this waits to be sent.
constexpr std::size_t produce_mark = 64 * 1024;
}  // namespace

std::error_code SessionOutput::produce(nghttp2_session* session, StreamLayer* layer) {
  if (session == nullptr || in_flight_ > 0) return {};
  if (sent_ == frames_.size()) {
    frames_.clear();
    sent_ = 0;
  }
  while (frames_.size() - sent_ < produce_mark) {
    const std::uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session, &data);
    if (n < 0) return std::make_error_code(std::errc::protocol_error);
    if (n == 0) break;
    frames_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  push(layer);
  return {};
}

void SessionOutput::push(StreamLayer* layer) {
  if (layer == nullptr || sent_ == frames_.size()) return;
  const OutputBuffer piece{reinterpret_cast<const std::byte*>(frames_.data()) + sent_,
                           frames_.size() - sent_};
  sent_ += layer->write(std::span<const OutputBuffer>(&piece, 1));
}

std::span<const OutputBuffer> SessionOutput::pending(StreamLayer* layer) {
  if (layer != nullptr) {
    push(layer);
    return layer->pending_wire();
  }
  view_ = OutputBuffer{reinterpret_cast<const std::byte*>(frames_.data()) + sent_,
                       frames_.size() - sent_};
  if (view_.size == 0) return {};
  return std::span<const OutputBuffer>(&view_, 1);
}

std::size_t SessionOutput::pending_size(const StreamLayer* layer) const noexcept {
  return layer != nullptr ? layer->pending_wire_size() : frames_.size() - sent_;
}

void SessionOutput::consume(StreamLayer* layer, std::size_t n) noexcept {
  in_flight_ = n >= in_flight_ ? 0 : in_flight_ - n;
  if (layer != nullptr) {
    layer->consume_wire(n);
  } else {
    sent_ += n;
  }
}

void SessionOutput::mark_in_flight(StreamLayer* layer, std::size_t n) noexcept {
  if (layer != nullptr) {
    layer->mark_wire_in_flight(n);
  } else {
    in_flight_ = n;
  }
}

std::size_t SessionOutput::backlog(const StreamLayer* layer) const noexcept {
  return (frames_.size() - sent_) + (layer != nullptr ? layer->pending_wire_size() : 0);
}

}  // namespace ws::http2::detail
