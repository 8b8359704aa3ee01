#include "ws/uring/uring_client.hpp"

#include <string>
#include <utility>

#include "uring_connection.hpp"
#include "uring_loop_core.hpp"
#include "ws/posix/socket.hpp"

namespace ws::uring {

UringClient::UringClient(UringLoop& loop, UringClientOptions options)
    : loop_(loop.core_), options_(std::move(options)) {}

Result<SessionPtr> UringClient::connect(std::string_view url, Handler handler) const {
  if (const std::error_code error = loop_->creation_error()) return error;
  Result<WsUrl> parsed = parse_ws_url(url);
  if (!parsed) return parsed.error();
  // The URL's layers (TLS for wss://, which this transport moves the bytes
  // of; a proxy tunnel below it with ClientOptions::route) and where to
  // connect (the proxy, if any).
  Result<ClientPath> path = client_path(options_, *parsed);
  if (!path) return path.error();
  Result<Connection> connection = Connection::client(url, options_.handshake, options_.config);
  if (!connection) return connection.error();
  // The first address; the connect itself goes through the ring.
  Result<posix::TcpAddress> resolved = posix::resolve_tcp(path->hop.host, path->hop.port);
  if (!resolved) return resolved.error();
  Result<posix::FileDescriptor> socket = posix::nonblocking_tcp_socket(*resolved);
  if (!socket) return socket.error();
  auto address = std::make_unique<detail::ConnectAddress>(*resolved);

  auto endpoint = std::make_shared<detail::UringEndpoint>();
  endpoint->handler = std::make_shared<const Handler>(std::move(handler));
  endpoint->driver = options_;
  auto client = detail::UringConnection::create(loop_, std::move(*socket), std::move(*connection),
                                                std::move(path->layer), std::move(endpoint),
                                                nullptr, std::move(address));
  SessionPtr session = client->session();
  loop_->post([client] { client->start(); });
  return session;
}

}  // namespace ws::uring
