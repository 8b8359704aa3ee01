#include "blocking_loop.hpp"
#include "ws/handshake/client_handshake.hpp"
#include "ws/posix/blocking.hpp"
#include "ws/posix/socket.hpp"

namespace ws::posix {

std::error_code connect(std::string_view url, BlockingHandler& handler,
                        const BlockingClientOptions& options) {
  const Result<WsUrl> parsed = parse_ws_url(url);
  if (!parsed) return parsed.error();
  // The URL's layers (TLS for wss://, a proxy tunnel below it with
  // ClientOptions::route) and where to connect (the proxy, if any).
  Result<ClientPath> path = client_path(options, *parsed);
  if (!path) return path.error();
  Result<Connection> connection = Connection::client(url, options.handshake, options.config);
  if (!connection) return connection.error();
  Result<FileDescriptor> socket = connect_tcp(path->hop.host, path->hop.port);
  if (!socket) return socket.error();
  (void)set_nodelay(socket->get());  // small frames should not wait for Nagle
  detail::BlockingLoop loop(socket->get(), std::move(*connection), handler, options,
                            options.connections, std::move(path->layer), options.on_failed);
  return loop.run();
}

}  // namespace ws::posix
