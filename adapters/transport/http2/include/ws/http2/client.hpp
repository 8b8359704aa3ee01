// ws::http2::ClientConnection: one HTTP/2 connection to an origin that
// carries WebSockets as streams (RFC 8441), each with a Driver and a
// Session of its own, as a ws::SocketDriver any transport can run (the
// epoll client's connect_socket(), say).
//
// Over TLS the layer must offer "h2" by ALPN (ws::tls::ClientSettings::alpn
// = {"h2"}); without TLS the client speaks HTTP/2 with prior knowledge
// (h2c, RFC 9113 3.3). open() may be called before the connection is up:
// the extended CONNECT goes once the server's SETTINGS said it takes them
// (SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441 3). Every WebSocket's
// on_close reports how it ended; the http2::errc values say what the
// carriage did (not_negotiated, extended_connect_unsupported,
// stream_refused, connection_failed).
//
// Thread safety: none, as for every SocketDriver: open() and the rest run
// on the transport's thread (post to it); the Sessions it returns are
// thread-safe as everywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "ws/driver/driver.hpp"
#include "ws/driver/socket_driver.hpp"
#include "ws/handshake/client_handshake.hpp"

namespace ws::http2 {

struct ClientSettings {
  /// SETTINGS_INITIAL_WINDOW_SIZE: what the server may send on a stream
  /// ahead of the WebSocket reading it.
  std::uint32_t stream_window = 256 * 1024;
  /// The connection's window (covers a few stalled streams).
  std::uint32_t connection_window = 16 * 1024 * 1024;
  /// A rejection's body is kept up to this many bytes (Rejected::body).
  std::size_t max_rejection_body = 64 * 1024;
  /// End the connection (GOAWAY) once the last of its WebSockets closed;
  /// false keeps it for later open() calls until the server ends it.
  bool close_when_idle = true;
};

class ClientConnection : public SocketDriver {
 public:
  /// `context`: the Config and DriverOptions of every WebSocket it carries,
  /// the default Handler, the transport's waker, and the TLS layer (null:
  /// h2c). Errors: out of memory in nghttp2.
  static Result<std::unique_ptr<ClientConnection>> make(SocketDriverContext context,
                                                        ClientSettings settings = {});

  /// Opens a WebSocket to `url` (same origin as the connection: its host
  /// and port are the :authority) as a new stream; `handler` overrides the
  /// connection's. Returns its Session at once; on_open or on_rejected and
  /// on_close follow. Errors: errc::invalid_url, invalid_handshake_option,
  /// errc::not_open once the connection ended.
  virtual Result<SessionPtr> open(std::string_view url, const ClientHandshakeOptions& options = {},
                                  std::shared_ptr<const Handler> handler = nullptr) = 0;
  /// WebSockets opened and not yet ended.
  virtual std::size_t websocket_count() const noexcept = 0;
};

}  // namespace ws::http2
