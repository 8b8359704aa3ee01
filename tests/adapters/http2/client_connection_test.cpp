// ws::http2::ClientConnection against ws::http2's own server, both as
// SocketDrivers in memory: several WebSockets share one HTTP/2 connection,
// each with its own session; a refusal reaches on_rejected with its body;
// a reset ends one WebSocket only; the connection ends once idle.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ws/driver/driver.hpp"
#include "ws/http2/client.hpp"
#include "ws/http2/error.hpp"
#include "ws/http2/server.hpp"

namespace ws {
namespace {

class NoWake final : public Waker {
 public:
  void wake() noexcept override {}
};

// Moves every pending byte from one SocketDriver to the other.
bool carry(SocketDriver& from, SocketDriver& to) {
  bool moved = false;
  while (from.pending_output_size() > 0) {
    std::string bytes;
    for (const OutputBuffer& piece : from.pending_output()) {
      bytes.append(reinterpret_cast<const char*>(piece.data), piece.size);
    }
    std::size_t given = 0;
    while (given < bytes.size() && to.receive_room() > 0) {
      given += to.receive(
          ByteView(reinterpret_cast<const std::byte*>(bytes.data()) + given, bytes.size() - given));
    }
    from.consume_output(given);
    if (given == 0) break;
    moved = true;
  }
  return moved;
}

struct ClientSeen {
  std::vector<std::string> opened;  // subprotocols
  std::vector<std::pair<const Session*, std::string>> messages;
  std::vector<int> rejected;
  std::string rejected_body;
  std::vector<std::pair<std::uint16_t, std::error_code>> closes;
};

class Http2Client : public ::testing::Test {
 protected:
  void SetUp() override {
    // The server: echoes; refuses /refused with 403.
    auto server_handler = std::make_shared<Handler>();
    server_handler->on_upgrade = [](const UpgradeRequest& request) {
      if (request.path == "/refused") return UpgradeDecision::reject(403, "not you\n");
      AcceptOptions options;
      options.subprotocols = {"chat"};
      return UpgradeDecision::accept_with(options);
    };
    server_handler->on_message = [](const SessionPtr& session, const Message& message) {
      (void)session->send_text(message.text());
    };
    server_ = std::move(*http2::server_protocols()->make(
        SocketDriverContext{std::make_shared<const Config>(server_config()), server_handler,
                            std::make_shared<const DriverOptions>(), std::make_shared<NoWake>()}));

    auto handler = std::make_shared<Handler>();
    ClientSeen* seen = &seen_;
    handler->on_open = [seen](const SessionPtr& session) {
      seen->opened.emplace_back(session->subprotocol());
    };
    handler->on_message = [seen](const SessionPtr& session, const Message& message) {
      seen->messages.emplace_back(session.get(), std::string(message.text()));
    };
    handler->on_rejected = [seen](const SessionPtr&, const Rejected& rejected) {
      seen->rejected.push_back(rejected.status);
      seen->rejected_body.assign(reinterpret_cast<const char*>(rejected.body.data()),
                                 rejected.body.size());
    };
    handler->on_close = [seen](const SessionPtr&, const Closed& closed) {
      seen->closes.emplace_back(static_cast<std::uint16_t>(closed.code), closed.error);
    };
    client_ = std::move(*http2::ClientConnection::make(
        SocketDriverContext{std::make_shared<const Config>(), handler,
                            std::make_shared<const DriverOptions>(), std::make_shared<NoWake>()}));
  }

  void exchange() {
    for (int i = 0; i < 100; ++i) {
      (void)client_->step(now_);
      (void)server_->step(now_);
      const bool a = carry(*client_, *server_);
      (void)server_->step(now_);
      const bool b = carry(*server_, *client_);
      if (!a && !b) {
        (void)client_->step(now_);
        if (client_->pending_output_size() == 0) return;
      }
    }
  }

  std::vector<std::string> messages_of(const SessionPtr& session) {
    std::vector<std::string> out;
    for (const auto& [owner, text] : seen_.messages) {
      if (owner == session.get()) out.push_back(text);
    }
    return out;
  }

  TimePoint now_ = TimePoint(std::chrono::hours(1));
  ClientSeen seen_;
  std::unique_ptr<SocketDriver> server_;
  std::unique_ptr<http2::ClientConnection> client_;
};

// The point of RFC 8441: many WebSockets, one connection.
TEST_F(Http2Client, SeveralWebSocketsShareOneConnection) {
  ClientHandshakeOptions chat;
  chat.subprotocols = {"chat"};
  const SessionPtr a = *client_->open("ws://server.example/a", chat);
  const SessionPtr b = *client_->open("ws://server.example/b");
  const SessionPtr c = *client_->open("ws://server.example/c");
  EXPECT_EQ(client_->websocket_count(), 3u);
  (void)a->send_text("to a");  // queued before the handshake: goes after it
  exchange();
  ASSERT_EQ(seen_.opened.size(), 3u);
  EXPECT_EQ(a->subprotocol(), "chat");
  EXPECT_EQ(b->subprotocol(), "");
  (void)b->send_text("to b");
  (void)c->send_text("to c, one");
  (void)c->send_text("to c, two");
  exchange();
  EXPECT_EQ(messages_of(a), std::vector<std::string>{"to a"});
  EXPECT_EQ(messages_of(b), std::vector<std::string>{"to b"});
  EXPECT_EQ(messages_of(c), (std::vector<std::string>{"to c, one", "to c, two"}));
}

TEST_F(Http2Client, ARefusalReachesOnRejectedWithItsBody) {
  const SessionPtr refused = *client_->open("ws://server.example/refused");
  const SessionPtr fine = *client_->open("ws://server.example/fine");
  exchange();
  EXPECT_EQ(seen_.rejected, std::vector<int>{403});
  EXPECT_EQ(seen_.rejected_body, "not you\n");
  ASSERT_EQ(seen_.closes.size(), 1u);
  EXPECT_EQ(seen_.closes[0].second, errc::unexpected_status);
  (void)fine->send_text("still fine");
  exchange();
  EXPECT_EQ(messages_of(fine), std::vector<std::string>{"still fine"});
}

// Closing the last WebSocket ends the connection (close_when_idle): GOAWAY,
// then the transport may close; each close is reported once and clean.
TEST_F(Http2Client, TheConnectionEndsWhenItsLastWebSocketCloses) {
  const SessionPtr a = *client_->open("ws://server.example/a");
  const SessionPtr b = *client_->open("ws://server.example/b");
  exchange();
  (void)a->close(CloseCode::normal);
  exchange();
  EXPECT_FALSE(client_->should_close_transport());
  (void)b->close(CloseCode::normal);
  exchange();
  ASSERT_EQ(seen_.closes.size(), 2u);
  for (const auto& [code, error] : seen_.closes) {
    EXPECT_EQ(code, 1000);
    EXPECT_FALSE(error) << error.message();
  }
  EXPECT_TRUE(client_->should_close_transport());
  client_->transport_closed();
  EXPECT_EQ(seen_.closes.size(), 2u);
}

// The socket lost under open WebSockets: each ends with 1006.
TEST_F(Http2Client, LosingTheSocketEndsEveryWebSocket) {
  (void)*client_->open("ws://server.example/a");
  (void)*client_->open("ws://server.example/b");
  exchange();
  client_->transport_failed(std::make_error_code(std::errc::connection_reset));
  (void)client_->step(now_);
  EXPECT_TRUE(client_->should_close_transport());
  client_->transport_closed();
  ASSERT_EQ(seen_.closes.size(), 2u);
  for (const auto& [code, error] : seen_.closes) EXPECT_EQ(code, 1006);
}

// A server that never answers the preface: the handshake timeout ends the
// waiting WebSocket.
TEST_F(Http2Client, ASilentServerEndsAtTheHandshakeTimeout) {
  (void)*client_->open("ws://server.example/a");
  (void)client_->step(now_);
  ASSERT_TRUE(client_->next_deadline());
  (void)client_->step(*client_->next_deadline());
  EXPECT_TRUE(client_->should_close_transport());
  client_->transport_closed();
  ASSERT_EQ(seen_.closes.size(), 1u);
  EXPECT_TRUE(seen_.closes[0].second);
}

}  // namespace
}  // namespace ws
