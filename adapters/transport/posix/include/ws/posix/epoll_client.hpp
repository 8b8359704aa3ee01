// EpollClient: WebSocket client connections on an EpollLoop (ws:// only;
// TLS is not part of this adapter). The TCP connect is non-blocking.
//
// Threading contract: connect() may be called from any thread; the
// handler's callbacks run on the loop thread (ws/posix/epoll_loop.hpp).
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "ws/base/result.hpp"
#include "ws/config.hpp"
#include "ws/driver/driver.hpp"
#include "ws/driver/socket_driver.hpp"
#include "ws/handshake/client_handshake.hpp"
#include "ws/posix/epoll_loop.hpp"
#include "ws/posix/epoll_session.hpp"

namespace ws::posix {

/// ClientOptions (ws/driver/driver.hpp): handshake options, config (the
/// handshake timeout also bounds the TCP connect), backpressure, write-stall
/// timeout, idle release, registry, stream layer (TLS), route (a proxy: the
/// socket connects to it and the tunnel goes below the TLS layer).
using EpollClientOptions = ClientOptions;

class EpollClient {
 public:
  /// The loop must outlive the client object; sessions may outlive both.
  explicit EpollClient(EpollLoop& loop, EpollClientOptions options = {});

  /// Starts connecting to `url` ("ws://host[:port]/path?query"). The host is
  /// a numeric address or a name resolved with getaddrinfo on the calling
  /// thread (the first address is used). Returns the session at once; its
  /// on_open (or on_close with the failure: std::errc::connection_refused,
  /// errc::handshake_timeout ...) follows on the loop thread. Messages may
  /// be sent before on_open: they wait for the handshake.
  /// With options.route (a proxy) the socket connects to the route's hop
  /// and a proxy's refusal comes as on_close (Closed::error the proxy's
  /// errc, Closed::reason what it said).
  /// Errors: errc::invalid_url (also wss:// without a stream_layer), the
  /// stream layer's and the route's, the resolver's and the socket's system
  /// errors.
  Result<EpollSessionPtr> connect(std::string_view url, EpollHandler handler) const;

  /// What connect_socket() serves the connected socket with.
  using SocketDriverMaker =
      std::function<Result<std::unique_ptr<SocketDriver>>(SocketDriverContext context)>;
  /// Starts connecting to the host and port of `url` (ws:// or wss://) and
  /// serves the socket with what `make` returns: an HTTP/2 connection that
  /// carries WebSockets as streams (ws::http2::ClientConnection::make, then
  /// open()), say. `make` runs now, on the calling thread, before the loop
  /// touches the socket, with this client's config and options, `handler`,
  /// the socket's waker and, for wss://, the TLS layer of the options'
  /// stream_layer (which must offer the protocol the driver speaks by
  /// ALPN), with the route's tunnel below it when options.route is set. Errors: errc::invalid_url
  /// (also wss:// without a stream_layer), the resolver's and the socket's system errors, and
  /// make's.
  std::error_code connect_socket(std::string_view url, EpollHandler handler,
                                 const SocketDriverMaker& make) const;

 private:
  struct Prepared;
  Result<Prepared> prepare(std::string_view url) const;

  std::shared_ptr<detail::EpollLoopCore> loop_;
  EpollClientOptions options_;
};

}  // namespace ws::posix
