// ws-demo (for now): a client and a server Connection talk to each other
// through two in-memory byte queues, and every step is printed. It shows the
// whole life of a connection without any socket: messages both ways, a
// fragmented message, a ping answered by a pong, and the close handshake.
#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "ws/connection.hpp"

namespace {

std::string describe(const ws::Event& event) {
  if (const auto* m = std::get_if<ws::Message>(&event)) {
    if (m->kind == ws::MessageKind::text) return "text \"" + std::string(m->text()) + "\"";
    return "binary, " + std::to_string(m->payload.size()) + " bytes";
  }
  if (const auto* p = std::get_if<ws::Ping>(&event)) {
    return "ping \"" + std::string(ws::as_text(p->payload)) + "\" (pong queued)";
  }
  if (const auto* p = std::get_if<ws::Pong>(&event)) {
    return "pong \"" + std::string(ws::as_text(p->payload)) + "\"";
  }
  const auto& closed = std::get<ws::Closed>(event);
  std::string text = "closed, peer code " + std::to_string(static_cast<unsigned>(closed.code));
  if (!closed.reason.empty()) text += " \"" + std::string(closed.reason) + "\"";
  text += closed.error ? ", error: " + closed.error.message() : ", clean";
  return text;
}

// Moves everything `from` wants to send into `to`, then prints what `to` saw.
void deliver(ws::Connection& from, const char* from_name, ws::Connection& to, const char* to_name) {
  std::size_t moved = 0;
  for (const ws::OutputBuffer& buffer : from.pending_output()) {
    ws::ByteView bytes(buffer.data, buffer.size);
    while (!bytes.empty()) {
      const std::size_t taken = to.receive(bytes);
      bytes = bytes.subspan(taken);
      while (auto event = to.next_event())
        std::printf("  %-6s <- %s\n", to_name, describe(*event).c_str());
    }
    moved += buffer.size;
  }
  if (moved > 0) std::printf("  (%zu bytes %s -> %s)\n", moved, from_name, to_name);
  from.consume_output(moved);
  while (auto event = to.next_event())
    std::printf("  %-6s <- %s\n", to_name, describe(*event).c_str());
}

void exchange(ws::Connection& client, ws::Connection& server) {
  deliver(client, "client", server, "server");
  deliver(server, "server", client, "client");
  deliver(client, "client", server, "server");
}

}  // namespace

int main() {
  // The opening handshake is not part of this demo yet: both sides start open.
  ws::Connection client = ws::Connection::after_handshake(ws::Role::client);
  ws::Connection server = ws::Connection::after_handshake(ws::Role::server);

  std::puts("client sends a text message, server answers with binary:");
  (void)client.send_text("hello, server");
  (void)server.send_binary(ws::as_bytes("binary reply"));
  exchange(client, server);

  std::puts("client streams a message in three fragments with a ping between them:");
  (void)client.send_text("one ", ws::Fin::no);
  (void)client.send_text("two ", ws::Fin::no);
  (void)client.ping(ws::as_bytes("are you there?"));
  (void)client.send_text("three", ws::Fin::yes);
  exchange(client, server);

  std::puts("server starts the close handshake:");
  (void)server.close(ws::CloseCode::going_away, "demo over");
  exchange(client, server);
  std::printf("server closes its transport: %s\n", server.should_close_transport() ? "yes" : "no");
  client.receive_eof();
  std::printf("client closes its transport after the server's end of stream: %s\n",
              client.should_close_transport() ? "yes" : "no");
  return 0;
}
