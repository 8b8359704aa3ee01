#include "ws/uring/uring_client.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <utility>

#include "uring_connection.hpp"
#include "uring_loop_core.hpp"
#include "ws/posix/socket.hpp"

namespace ws::uring {

namespace {

struct AddrinfoList {
  addrinfo* list = nullptr;
  ~AddrinfoList() {
    if (list != nullptr) ::freeaddrinfo(list);
  }
};

// The first address of host:port, and a socket of its family. The connect
// itself goes through the ring.
Result<posix::FileDescriptor> make_socket(const std::string& host, std::uint16_t port,
                                          detail::ConnectAddress& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = AI_NUMERICSERV;
  AddrinfoList addresses;
  const std::string service = std::to_string(port);
  const int code = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &addresses.list);
  if (code != 0) {
    if (code == EAI_SYSTEM) return posix::last_system_error();
    return std::make_error_code(std::errc::address_not_available);
  }
  const addrinfo* first = addresses.list;
  if (first->ai_addrlen > sizeof address.address) {
    return std::make_error_code(std::errc::address_family_not_supported);
  }
  std::memcpy(&address.address, first->ai_addr, first->ai_addrlen);
  address.length = first->ai_addrlen;
  posix::FileDescriptor socket(::socket(
      first->ai_family, first->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, first->ai_protocol));
  if (!socket) return posix::last_system_error();
  return socket;
}

}  // namespace

UringClient::UringClient(UringLoop& loop, UringClientOptions options)
    : loop_(loop.core_), options_(std::move(options)) {}

Result<SessionPtr> UringClient::connect(std::string_view url, Handler handler) const {
  if (const std::error_code error = loop_->creation_error()) return error;
  Result<WsUrl> parsed = parse_ws_url(url);
  if (!parsed) return parsed.error();
  // wss:// needs the layer that speaks TLS; this transport moves its bytes.
  if (parsed->secure && !options_.stream_layer) return errc::invalid_url;
  Result<Connection> connection = Connection::client(url, options_.handshake, options_.config);
  if (!connection) return connection.error();
  Result<std::unique_ptr<StreamLayer>> layer =
      make_stream_layer(options_, Role::client, parsed->host);
  if (!layer) return layer.error();
  auto address = std::make_unique<detail::ConnectAddress>();
  Result<posix::FileDescriptor> socket = make_socket(parsed->host, parsed->port, *address);
  if (!socket) return socket.error();

  auto endpoint = std::make_shared<detail::UringEndpoint>();
  endpoint->handler = std::make_shared<const Handler>(std::move(handler));
  endpoint->driver = options_;
  auto client = detail::UringConnection::create(loop_, std::move(*socket), std::move(*connection),
                                                std::move(*layer), std::move(endpoint), nullptr,
                                                std::move(address));
  SessionPtr session = client->session();
  loop_->post([client] { client->start(); });
  return session;
}

}  // namespace ws::uring
