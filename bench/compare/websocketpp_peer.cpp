// websocketpp's side of the comparison (compiled as C++17): full
// connections with the iostream transport, the library's own way to run
// without sockets. Input is handed to connection::read_some in pieces of
// at most 64 KiB, every message reaches a message handler, and output goes
// to a write handler that copies it to a sink (peer_api.hpp). The handshake is real.
// Config: websocketpp::config::core (server) and core_client (client), with
// logging off; everything else as shipped (the client's masking keys come
// from its default random_device generator).
#include <websocketpp/client.hpp>
#include <websocketpp/config/core.hpp>
#include <websocketpp/config/core_client.hpp>
#include <websocketpp/server.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "compare/peer_api.hpp"

namespace ws_bench {
namespace {

using Server = websocketpp::server<websocketpp::config::core>;
using Client = websocketpp::client<websocketpp::config::core_client>;
using websocketpp::connection_hdl;

template <class Endpoint>
void quiet(Endpoint& endpoint) {
  endpoint.clear_access_channels(websocketpp::log::alevel::all);
  endpoint.clear_error_channels(websocketpp::log::elevel::all);
}

// One server endpoint and its connections; counts messages and output.
struct ServerSide {
  Server endpoint;
  std::vector<Server::connection_ptr> connections;
  std::size_t messages = 0;
  std::size_t written = 0;

  ServerSide() {
    quiet(endpoint);
    endpoint.set_message_handler([this](connection_hdl, Server::message_ptr message) {
      ++messages;
      // The caller's use of the message: touch its first byte.
      const std::string& payload = message->get_payload();
      if (!payload.empty() && static_cast<unsigned char>(payload[0]) == 0xFF) ++messages;
    });
  }

  Server::connection_ptr open() {
    Server::connection_ptr connection = endpoint.get_connection();
    connection->set_write_handler([this](connection_hdl, char const* data, std::size_t size) {
      copy_to_sink(data, size);
      written += size;
      return websocketpp::lib::error_code();
    });
    connection->start();
    const std::string request = upgrade_request;
    if (connection->read_all(request.data(), request.size()) != request.size()) return nullptr;
    if (connection->get_state() != websocketpp::session::state::open) return nullptr;
    connections.push_back(connection);
    return connection;
  }
};

void* receiver_open() {
  auto side = std::make_unique<ServerSide>();
  if (!side->open()) return nullptr;
  return side.release();
}

std::size_t receiver_feed(void* handle, const unsigned char* data, std::size_t size,
                          std::size_t chunk, std::size_t) {
  auto& side = *static_cast<ServerSide*>(handle);
  const Server::connection_ptr& connection = side.connections.front();
  side.messages = 0;
  const char* bytes = reinterpret_cast<const char*>(data);
  for (std::size_t at = 0; at < size;) {
    const std::size_t piece = std::min(chunk, size - at);
    const std::size_t n = connection->read_all(bytes + at, piece);
    if (n != piece) break;
    at += n;
  }
  return side.messages;
}

void receiver_close(void* handle) { delete static_cast<ServerSide*>(handle); }

struct ClientSide {
  Client endpoint;
  Client::connection_ptr connection;
  std::string request;
  bool handshaking = true;
  std::size_t written = 0;

  ClientSide() { quiet(endpoint); }

  bool open() {
    websocketpp::lib::error_code ec;
    connection = endpoint.get_connection("ws://localhost/bench", ec);
    if (ec) return false;
    connection->set_write_handler([this](connection_hdl, char const* data, std::size_t size) {
      copy_to_sink(data, size);
      written += size;
      if (handshaking) request.append(data, size);
      return websocketpp::lib::error_code();
    });
    endpoint.connect(connection);
    handshaking = false;
    const std::string response = switching_protocols_for(request);
    if (connection->read_all(response.data(), response.size()) != response.size()) return false;
    return connection->get_state() == websocketpp::session::state::open;
  }
};

struct Sender {
  std::unique_ptr<ServerSide> server;
  std::unique_ptr<ClientSide> client;
};

void* sender_open(bool client_role) {
  auto sender = std::make_unique<Sender>();
  if (client_role) {
    sender->client = std::make_unique<ClientSide>();
    if (!sender->client->open()) return nullptr;
  } else {
    sender->server = std::make_unique<ServerSide>();
    if (!sender->server->open()) return nullptr;
  }
  return sender.release();
}

template <class Connection>
bool send_all(Connection& connection, const unsigned char* payload, std::size_t size,
              std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    if (connection->send(payload, size, websocketpp::frame::opcode::binary)) return false;
  }
  return true;
}

std::size_t sender_send(void* handle, const unsigned char* payload, std::size_t size,
                        std::size_t count) {
  auto& sender = *static_cast<Sender*>(handle);
  if (sender.client) {
    sender.client->written = 0;
    if (!send_all(sender.client->connection, payload, size, count)) return 0;
    return sender.client->written;
  }
  sender.server->written = 0;
  if (!send_all(sender.server->connections.front(), payload, size, count)) return 0;
  return sender.server->written;
}

void sender_close(void* handle) { delete static_cast<Sender*>(handle); }

void* fanout_open(std::size_t subscribers) {
  auto side = std::make_unique<ServerSide>();
  side->connections.reserve(subscribers);
  for (std::size_t i = 0; i < subscribers; ++i) {
    if (!side->open()) return nullptr;
  }
  return side.release();
}

// websocketpp's broadcast pattern: one message object, sent to every
// connection (connection::send(message_ptr) frames it for each one, since
// the library prepares frames per connection).
std::size_t fanout_publish(void* handle, const unsigned char* payload, std::size_t size) {
  auto& side = *static_cast<ServerSide*>(handle);
  side.written = 0;
  Server::message_ptr message =
      side.connections.front()->get_message(websocketpp::frame::opcode::binary, size);
  message->set_payload(payload, size);
  for (const Server::connection_ptr& connection : side.connections) {
    if (connection->send(message)) return 0;
  }
  return side.written;
}

void fanout_close(void* handle) { delete static_cast<ServerSide*>(handle); }

// The application keeps a connection_ptr (a shared_ptr) per connection; the
// connection object itself is on the heap, so the heap count includes it.
void* idle_open(std::size_t count, std::size_t* object_size) {
  *object_size = sizeof(Server::connection_type);
  return fanout_open(count);
}

void idle_close(void* handle) { delete static_cast<ServerSide*>(handle); }

}  // namespace

const PeerApi& websocketpp_api() {
  static const PeerApi api{"websocketpp",  receiver_open, receiver_feed, receiver_close,
                           sender_open,    sender_send,   sender_close,  fanout_open,
                           fanout_publish, fanout_close,  idle_open,     idle_close};
  return api;
}

}  // namespace ws_bench
