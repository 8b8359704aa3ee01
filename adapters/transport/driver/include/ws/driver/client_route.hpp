// ClientRoute: how a client reaches the server of a URL when not directly.
// A proxy (ws::proxy::route) is one: the socket connects to the proxy, and a
// layer below the URL's own stream layer (TLS for wss://) opens the tunnel.
//
// The driver library knows routes only through this interface, so the
// transports (which depend on it) honour every route the same way and the
// proxy code (which depends on the driver) is not a dependency of theirs.
// Every client transport connects through client_path() (driver.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ws/base/result.hpp"
#include "ws/driver/stream_layer.hpp"
#include "ws/handshake/client_handshake.hpp"

namespace ws {

/// Where a client's socket connects.
struct ClientHop {
  std::string host;  // a name or address, as resolve_tcp() takes it
  std::uint16_t port = 0;
};

/// One way to reach servers. Shared by every connection of a client (and
/// by threads: the blocking client connects on the caller's thread), so
/// its members are const and must be safe to call concurrently.
class ClientRoute {
 public:
  virtual ~ClientRoute() = default;

  /// Where the socket connects for `url` (a proxy's address).
  virtual ClientHop hop(const WsUrl& url) const = 0;

  /// The layer the transport hosts for `url`, built around `upper`, the
  /// URL's own layer (TLS for wss://; null for ws://): the route's layer
  /// below it (a proxy tunnel to the URL's host and port), so the URL's
  /// layer and the Connection see the server's bytes only once the route
  /// is through. Errors: the route cannot reach that URL (a host the
  /// proxy's protocol cannot carry); the connection is not attempted.
  virtual Result<std::unique_ptr<StreamLayer>> layer(const WsUrl& url,
                                                     std::unique_ptr<StreamLayer> upper) const = 0;
};

}  // namespace ws
