// What an nghttp2 session has to send, on its way to the transport: the
// frames nghttp2 serialises (mem_send), encoded by the TLS layer when there
// is one. Shared by the server and client connections.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <system_error>

#include "ws/driver/stream_layer.hpp"
#include "ws/output_buffer.hpp"

struct nghttp2_session;

namespace ws::http2::detail {

class SessionOutput {
 public:
  /// Takes nghttp2's frames while less than a mark waits, and hands them to
  /// `layer` (TLS; null: sent as they are). Errors: nghttp2's (a callback
  /// failed, out of memory) as std::errc::protocol_error.
  std::error_code produce(nghttp2_session* session, StreamLayer* layer);
  /// Hands frames not yet encoded to the layer (its bound may have held
  /// them back).
  void push(StreamLayer* layer);

  std::span<const OutputBuffer> pending(StreamLayer* layer);
  std::size_t pending_size(const StreamLayer* layer) const noexcept;
  void consume(StreamLayer* layer, std::size_t n) noexcept;
  /// The first n pending bytes stay in place until consumed: nothing is
  /// appended (nor moved) meanwhile.
  void mark_in_flight(StreamLayer* layer, std::size_t n) noexcept;
  /// Everything not yet written: frames and encoded bytes.
  std::size_t backlog(const StreamLayer* layer) const noexcept;
  /// Every frame went to the layer (or out).
  bool all_encoded() const noexcept { return sent_ == frames_.size(); }

 private:
  std::string frames_;    // nghttp2's output not yet sent (or encoded)
  std::size_t sent_ = 0;  // the front of frames_ already sent or encoded
  OutputBuffer view_{};
  std::size_t in_flight_ = 0;
};

}  // namespace ws::http2::detail
