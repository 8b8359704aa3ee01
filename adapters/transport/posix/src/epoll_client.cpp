#include "ws/posix/epoll_client.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <utility>

#include "epoll_connection.hpp"
#include "epoll_loop_core.hpp"

namespace ws::posix {

namespace {

// Starts a non-blocking connect to the first address of host:port. The
// outcome of an EINPROGRESS connect is read when the socket turns writable.
Result<FileDescriptor> start_connect(const std::string& host, std::uint16_t port) {
  Result<TcpAddress> address = resolve_tcp(host, port);
  if (!address) return address.error();
  Result<FileDescriptor> socket = nonblocking_tcp_socket(*address);
  if (!socket) return socket.error();
  if (::connect(socket->get(), reinterpret_cast<const sockaddr*>(&address->address),
                address->length) != 0 &&
      errno != EINPROGRESS && errno != EINTR) {
    return last_system_error();
  }
  return socket;
}

}  // namespace

EpollClient::EpollClient(EpollLoop& loop, EpollClientOptions options)
    : loop_(loop.core_), options_(std::move(options)) {}

// What both connects need: the URL checked, its layers (TLS for wss://, a
// proxy tunnel below it with ClientOptions::route), the socket connecting
// (to the proxy when there is one).
struct EpollClient::Prepared {
  WsUrl url;
  std::unique_ptr<StreamLayer> layer;
  FileDescriptor socket;
};

Result<EpollClient::Prepared> EpollClient::prepare(std::string_view url) const {
  if (const std::error_code error = loop_->creation_error()) return error;
  Result<WsUrl> parsed = parse_ws_url(url);
  if (!parsed) return parsed.error();
  Result<ClientPath> path = client_path(options_, *parsed);
  if (!path) return path.error();
  Result<FileDescriptor> socket = start_connect(path->hop.host, path->hop.port);
  if (!socket) return socket.error();
  return Prepared{std::move(*parsed), std::move(path->layer), std::move(*socket)};
}

Result<EpollSessionPtr> EpollClient::connect(std::string_view url, EpollHandler handler) const {
  if (const std::error_code error = loop_->creation_error()) return error;
  Result<Connection> connection = Connection::client(url, options_.handshake, options_.config);
  if (!connection) return connection.error();
  Result<Prepared> prepared = prepare(url);
  if (!prepared) return prepared.error();
  auto endpoint = std::make_shared<detail::EpollEndpoint>();
  endpoint->handler = std::make_shared<const Handler>(std::move(handler));
  endpoint->driver = options_;
  auto client = detail::EpollConnection::create(loop_, std::move(prepared->socket),
                                                std::move(*connection), std::move(endpoint),
                                                nullptr, true, std::move(prepared->layer));
  EpollSessionPtr session = client->session();
  loop_->post([client] { client->start(); });
  return session;
}

std::error_code EpollClient::connect_socket(std::string_view url, EpollHandler handler,
                                            const SocketDriverMaker& make) const {
  Result<Prepared> prepared = prepare(url);
  if (!prepared) return prepared.error();
  auto shared = std::make_shared<const ClientOptions>(options_);
  auto config = std::make_shared<const Config>(options_.config);
  auto handler_shared = std::make_shared<const Handler>(std::move(handler));
  Result<std::shared_ptr<detail::EpollConnection>> client = detail::EpollConnection::create_from(
      loop_, std::move(prepared->socket), nullptr, true, [&](std::shared_ptr<ws::Waker> waker) {
        return make(SocketDriverContext{config, handler_shared,
                                        std::shared_ptr<const DriverOptions>(shared, shared.get()),
                                        std::move(waker), std::move(prepared->layer)});
      });
  if (!client) return client.error();
  loop_->post([connection = *client] { connection->start(); });
  return {};
}

}  // namespace ws::posix
