#include "blocking_loop.hpp"
#include "ws/handshake/client_handshake.hpp"
#include "ws/posix/blocking.hpp"
#include "ws/posix/socket.hpp"

namespace ws::posix {

std::error_code connect(std::string_view url, BlockingHandler& handler,
                        const BlockingClientOptions& options) {
  const Result<WsUrl> parsed = parse_ws_url(url);
  if (!parsed) return parsed.error();
  // wss:// needs the TLS layer (ClientOptions::stream_layer).
  if (parsed->secure && !options.stream_layer) return errc::invalid_url;
  Result<std::unique_ptr<StreamLayer>> layer =
      make_stream_layer(options, Role::client, parsed->host);
  if (!layer) return layer.error();
  Result<Connection> connection = Connection::client(url, options.handshake, options.config);
  if (!connection) return connection.error();
  Result<FileDescriptor> socket = connect_tcp(parsed->host, parsed->port);
  if (!socket) return socket.error();
  (void)set_nodelay(socket->get());  // small frames should not wait for Nagle
  detail::BlockingLoop loop(socket->get(), std::move(*connection), handler, options,
                            options.connections, std::move(*layer));
  return loop.run();
}

}  // namespace ws::posix
