#include "support/connection_pair.hpp"

#include <stdexcept>

#include "ws/handshake/http_head_parser.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws::test {

ConnectionPair make_pair(const Config& client_config, const Config& server_config,
                         const ClientHandshakeOptions& options) {
  Result<Connection> client = Connection::client("ws://example.com/chat", options, client_config);
  if (!client) throw std::logic_error("client: " + client.error().message());
  return ConnectionPair{std::move(*client), Connection::server(server_config), {}, {}, {}};
}

void pump(ConnectionPair& pair) {
  for (int rounds = 0; rounds < 10000; ++rounds) {
    const Bytes to_server = take_output(pair.client);
    const Bytes to_client = take_output(pair.server);
    if (to_server.empty() && to_client.empty()) return;
    for (OwnedEvent& event : feed(pair.server, to_server)) {
      if (event.type == OwnedEvent::Type::upgrade_requested) {
        if (pair.server.accept(pair.accept_options)) throw std::logic_error("accept failed");
        for (OwnedEvent& more : drain(pair.server)) pair.server_events.push_back(std::move(more));
      }
      pair.server_events.push_back(std::move(event));
    }
    for (OwnedEvent& event : feed(pair.client, to_client)) {
      pair.client_events.push_back(std::move(event));
    }
  }
  throw std::logic_error("pump: the connections never went quiet");
}

std::string switching_response(std::string_view request, std::string_view extensions) {
  Result<HttpHead> head = parse_http_head(request, HttpHeadKind::request);
  if (!head) throw std::logic_error("not a request head");
  const std::optional<std::string_view> key = find_header(*head, "sec-websocket-key");
  if (!key) throw std::logic_error("no key");
  std::string out =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      compute_accept_key(*key) + "\r\n";
  if (!extensions.empty()) out += "Sec-WebSocket-Extensions: " + std::string(extensions) + "\r\n";
  return out + "\r\n";
}

}  // namespace ws::test
