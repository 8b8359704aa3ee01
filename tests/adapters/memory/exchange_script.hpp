// A whole WebSocket exchange between a client and a server Connection,
// written as the reactions of both applications to their events, shared by
// the memory adapter tests:
//   - the server accepts the upgrade and, once open, sends its greetings
//     (text, binary, an empty message, a message in three fragments) and
//     echoes every message it receives;
//   - the client, once open, sends its messages (text, empty text, a
//     fragmented text, binaries of 300 bytes and, optionally, 70,000 bytes)
//     and a ping, and closes with 1000 "bye" when it has every greeting and
//     echo and the pong.
// It records what each side sent (only sends that succeeded) and received,
// so a test can compare them.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "support/frames.hpp"
#include "ws/connection.hpp"
#include "ws/memory/pump.hpp"

namespace ws::test {

/// A whole message as sent or received.
struct WholeMessage {
  MessageKind kind = MessageKind::binary;
  Bytes payload;
  friend bool operator==(const WholeMessage&, const WholeMessage&) = default;
};

inline std::ostream& operator<<(std::ostream& out, const WholeMessage& message) {
  return out << (message.kind == MessageKind::text ? "text(" : "binary(") << message.payload.size()
             << " bytes)";
}

/// True when `got` is `sent` cut after some element (in order, no duplicates).
inline bool is_prefix(const std::vector<WholeMessage>& got, const std::vector<WholeMessage>& sent) {
  if (got.size() > sent.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!(got[i] == sent[i])) return false;
  return true;
}

class ExchangeScript {
 public:
  explicit ExchangeScript(bool with_large_message = false) {
    client_plan_.push_back({MessageKind::text, bytes_of("hello")});
    client_plan_.push_back({MessageKind::text, {}});
    client_plan_.push_back({MessageKind::binary, Bytes(300, std::byte{0xA5})});
    if (with_large_message) {
      Bytes large(70'000);
      for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<std::byte>(i * 7U);
      client_plan_.push_back({MessageKind::binary, std::move(large)});
    }
  }

  /// The handler to give to ws::memory::pump (client on Side::a).
  memory::EventHandler handler() {
    return [this](memory::Side side, Connection& connection, const Event& event) {
      if (side == memory::Side::a)
        on_client_event(connection, event);
      else
        on_server_event(connection, event);
    };
  }

  std::vector<WholeMessage> client_sent, server_sent;
  std::vector<WholeMessage> client_received, server_received;
  std::vector<OwnedEvent> client_closed, server_closed;
  bool client_got_pong = false;
  bool client_started_close = false;

 private:
  static constexpr std::string_view kPing = "are you there";
  // 4 greetings from the server, then an echo of each client message.
  std::size_t expected_by_client() const { return 4 + client_plan_.size() + 1; }

  static void record(std::vector<WholeMessage>& into, std::error_code error, MessageKind kind,
                     Bytes payload) {
    if (!error) into.push_back({kind, std::move(payload)});
  }

  void on_server_event(Connection& server, const Event& event) {
    if (std::get_if<UpgradeRequested>(&event) != nullptr) {
      EXPECT_FALSE(server.accept());
    } else if (std::get_if<Opened>(&event) != nullptr) {
      record(server_sent, server.send_text("welcome"), MessageKind::text, bytes_of("welcome"));
      const Bytes small = bytes_of({0x00, 0x01, 0x02, 0xFF});
      record(server_sent, server.send_binary(small), MessageKind::binary, small);
      record(server_sent, server.send_binary({}), MessageKind::binary, {});
      // RFC 6455 5.4: one message in three frames.
      const std::error_code first = server.send_binary(bytes_of("frag"), Fin::no);
      const std::error_code second = first ? first : server.send_binary(bytes_of("men"), Fin::no);
      const std::error_code third = second ? second : server.send_binary(bytes_of("ted"), Fin::yes);
      record(server_sent, third, MessageKind::binary, bytes_of("fragmented"));
    } else if (const auto* message = std::get_if<Message>(&event)) {
      const Bytes payload(message->payload.begin(), message->payload.end());
      server_received.push_back({message->kind, payload});
      const std::error_code echoed = message->kind == MessageKind::text
                                         ? server.send_text(message->text())
                                         : server.send_binary(message->payload);
      record(server_sent, echoed, message->kind, payload);
    } else if (const auto* closed = std::get_if<Closed>(&event)) {
      server_closed.push_back(own(*closed));
    }
  }

  void on_client_event(Connection& client, const Event& event) {
    if (std::get_if<Opened>(&event) != nullptr) {
      for (const WholeMessage& message : client_plan_) {
        const std::error_code error = message.kind == MessageKind::text
                                          ? client.send_text(as_text(message.payload))
                                          : client.send_binary(message.payload);
        record(client_sent, error, message.kind, message.payload);
      }
      // RFC 6455 5.4: a text message in three frames, split inside a word.
      const std::error_code first = client.send_text("Hel", Fin::no);
      const std::error_code second = first ? first : client.send_text("lo, ", Fin::no);
      const std::error_code third = second ? second : client.send_text("world", Fin::yes);
      record(client_sent, third, MessageKind::text, bytes_of("Hello, world"));
      EXPECT_FALSE(client.ping(as_bytes(kPing)));
    } else if (const auto* message = std::get_if<Message>(&event)) {
      client_received.push_back(
          {message->kind, Bytes(message->payload.begin(), message->payload.end())});
      maybe_close(client);
    } else if (const auto* pong = std::get_if<Pong>(&event)) {
      client_got_pong = as_text(pong->payload) == kPing;
      maybe_close(client);
    } else if (const auto* closed = std::get_if<Closed>(&event)) {
      client_closed.push_back(own(*closed));
    }
  }

  void maybe_close(Connection& client) {
    if (client_started_close || !client_got_pong || client_received.size() < expected_by_client())
      return;
    client_started_close = true;
    EXPECT_FALSE(client.close(CloseCode::normal, "bye"));
  }

  std::vector<WholeMessage> client_plan_;
};

/// A client Connection for ws://localhost/ with deterministic keys.
inline Connection test_client() {
  Config config;
  config.random = counting_random_source();
  Result<Connection> client = Connection::client("ws://localhost/", {}, config);
  EXPECT_TRUE(client.has_value());
  return std::move(client).value();
}

}  // namespace ws::test
