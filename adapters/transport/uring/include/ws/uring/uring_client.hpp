// UringClient: WebSocket client connections on a UringLoop. The TCP
// connect is an io_uring connect; bytes move as on the server side.
//
// Threading contract: connect() may be called from any thread; the
// handler's callbacks run on the loop thread (ws/uring/uring_loop.hpp).
#pragma once

#include <memory>
#include <string_view>

#include "ws/base/result.hpp"
#include "ws/config.hpp"
#include "ws/driver/driver.hpp"
#include "ws/driver/handler.hpp"
#include "ws/driver/session.hpp"
#include "ws/uring/uring_loop.hpp"

namespace ws::uring {

/// ClientOptions (ws/driver/driver.hpp): handshake options, config (the
/// handshake timeout also bounds the TCP connect), backpressure,
/// write-stall timeout, idle release, registry, stream layer (TLS), route
/// (a proxy: the socket connects to it, the tunnel goes below TLS).
using UringClientOptions = ClientOptions;

class UringClient {
 public:
  /// The loop must outlive the client object; sessions may outlive both.
  explicit UringClient(UringLoop& loop, UringClientOptions options = {});

  /// Starts connecting to `url` ("ws://host[:port]/path?query"; "wss://"
  /// when options.stream_layer is set, which then makes the connection's
  /// TLS layer with the URL's host). The host is a numeric address or a
  /// name resolved with getaddrinfo on the calling thread (the first
  /// address is used). Returns the session at once; its on_open (or
  /// on_close with the failure: std::errc::connection_refused,
  /// errc::handshake_timeout ...) follows on the loop thread. Messages may
  /// be sent before on_open: they wait for the handshake.
  /// With options.route (a proxy) the socket connects to the route's hop
  /// and a proxy's refusal comes as on_close (Closed::error the proxy's
  /// errc, Closed::reason what it said).
  /// Errors: the loop's creation error, errc::invalid_url (also wss://
  /// without a stream layer), the stream layer's, the route's, the
  /// resolver's and the socket's system errors.
  Result<SessionPtr> connect(std::string_view url, Handler handler) const;

 private:
  std::shared_ptr<detail::UringLoopCore> loop_;
  UringClientOptions options_;
};

}  // namespace ws::uring
