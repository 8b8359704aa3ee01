// A client ws::Driver hosting a tunnel layer, as every transport will: the
// upgrade request waits inside the Connection until the proxy opened the
// tunnel, the WebSocket then runs through it, and a refusal ends the
// connection with the proxy's error in on_close. The "proxy" here answers
// by hand, then relays bytes to a server Driver.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy_test_support.hpp"
#include "ws/base/error.hpp"
#include "ws/connection.hpp"
#include "ws/driver/driver.hpp"
#include "ws/proxy/error.hpp"

namespace ws::proxy {
namespace {

using namespace std::chrono_literals;

struct NoWaker final : Waker {
  void wake() noexcept override {}
};

// Everything the driver wants to write, consumed.
std::string drain(Driver& driver) {
  std::string out;
  while (driver.wants_write()) {
    std::string piece;
    for (const OutputBuffer& buffer : driver.pending_output()) {
      piece += as_text({buffer.data, buffer.size});
    }
    if (piece.empty()) break;
    driver.consume_output(piece.size());
    out += piece;
  }
  return out;
}

void feed(Driver& driver, std::string_view bytes) {
  while (!bytes.empty()) {
    const std::size_t taken = driver.receive(as_bytes(bytes));
    ASSERT_GT(taken, 0U);
    bytes.remove_prefix(taken);
  }
}

class DriverOverTunnel : public ::testing::Test {
 protected:
  void make(const ProxySettings& proxy) {
    auto client_handler = std::make_shared<Handler>();
    client_handler->on_open = [this](const SessionPtr& session) {
      ++client_opens;
      EXPECT_FALSE(session->send_text("through the proxy"));
    };
    client_handler->on_message = [this](const SessionPtr& session, const Message& message) {
      client_messages.emplace_back(message.text());
      EXPECT_FALSE(session->close(CloseCode::normal, "done"));
    };
    client_handler->on_close = [this](const SessionPtr&, const Closed& closed) {
      client_closed = closed.error;
      client_reason = std::string(closed.reason);
    };
    auto server_handler = std::make_shared<Handler>();
    server_handler->on_message = [](const SessionPtr& session, const Message& message) {
      EXPECT_FALSE(session->send_text(message.text()));
    };
    Config config;
    config.timeouts.handshake_timeout = 1s;
    config.timeouts.close_timeout = 100ms;
    auto connection = Connection::client("ws://echo.example:9001/chat", {}, config);
    ASSERT_TRUE(connection.has_value());
    client = std::make_unique<Driver>(std::move(*connection), client_handler, DriverOptions{},
                                      std::make_shared<NoWaker>(),
                                      test::make_tunnel(proxy, "echo.example", 9001));
    server = std::make_unique<Driver>(Connection::server(config), server_handler, DriverOptions{},
                                      std::make_shared<NoWaker>(), nullptr);
  }

  // The proxy relays both ways until neither side has anything to say.
  void relay(TimePoint now) {
    for (int round = 0; round < 50; ++round) {
      (void)client->step(now);
      (void)server->step(now);
      const std::string up = drain(*client);
      const std::string down = drain(*server);
      if (!up.empty()) feed(*server, up);
      if (!down.empty()) feed(*client, down);
      if (up.empty() && down.empty()) break;
    }
  }

  std::unique_ptr<Driver> client;
  std::unique_ptr<Driver> server;
  int client_opens = 0;
  std::vector<std::string> client_messages;
  std::optional<std::error_code> client_closed;
  std::string client_reason;
  const TimePoint t0 = TimePoint{} + 1h;
};

// RFC 9110 9.3.6: once the proxy answered 2xx the connection is a tunnel to
// the server; before that, only the CONNECT request goes out.
TEST_F(DriverOverTunnel, TheUpgradeWaitsForTheTunnelThenTheWebSocketRunsThroughIt) {
  make(test::settings(ProxyKind::http, "alice", "secret"));
  (void)client->step(t0);
  EXPECT_EQ(drain(*client),
            "CONNECT echo.example:9001 HTTP/1.1\r\nHost: echo.example:9001\r\n"
            "Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n");
  (void)client->step(t0 + 10ms);
  EXPECT_EQ(drain(*client), "");  // the upgrade request still waits
  feed(*client, "HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n");
  (void)client->step(t0 + 20ms);
  const std::string upgrade = drain(*client);
  EXPECT_EQ(upgrade.rfind("GET /chat HTTP/1.1\r\nHost: echo.example:9001\r\n", 0), 0U) << upgrade;
  feed(*server, upgrade);
  relay(t0 + 30ms);
  EXPECT_EQ(client_opens, 1);
  EXPECT_EQ(client_messages, std::vector<std::string>{"through the proxy"});
  ASSERT_TRUE(client->should_close_transport() || server->should_close_transport());
  client->transport_closed();
  ASSERT_TRUE(client_closed.has_value());
  EXPECT_FALSE(*client_closed) << client_closed->message();
}

// Issue 20: a refusal is a named error carrying what the proxy said, never
// a hang: the connection ends at once and on_close says why.
TEST_F(DriverOverTunnel, ARefusalEndsTheConnectionWithTheProxysError) {
  make(test::settings(ProxyKind::http));
  (void)client->step(t0);
  (void)drain(*client);
  feed(*client,
       "HTTP/1.0 407 Proxy Authentication Required\r\n"
       "Proxy-Authenticate: Basic realm=\"tinyproxy\"\r\n\r\n");
  (void)client->step(t0 + 10ms);
  EXPECT_TRUE(client->should_close_transport());
  client->transport_closed();
  ASSERT_TRUE(client_closed.has_value());
  EXPECT_EQ(*client_closed, errc::authentication_required);
  EXPECT_EQ(*client_closed, ws::condition::handshake_failed);
  // No close frame exists: the reason is what the proxy said.
  EXPECT_EQ(client_reason, "HTTP/1.0 407 Proxy Authentication Required");
  EXPECT_EQ(client->result(), errc::authentication_required);
  ASSERT_NE(client->stream_layer(), nullptr);
  ASSERT_NE(refusal(*client->stream_layer()), nullptr);
  EXPECT_EQ(refusal(*client->stream_layer())->status, 407);
  EXPECT_EQ(client_opens, 0);
}

// A proxy that never answers is bounded by the handshake timeout, which
// counts the tunnel's time too (tunnel.hpp): no timer of its own. on_close
// says so at the timeout, and the transport is told to close at once: the
// upgrade request the tunnel never took can never go out, so the Driver
// does not wait for it (it waited for the write-stall timeout before).
TEST_F(DriverOverTunnel, AProxyThatNeverAnswersTimesOutWithTheHandshake) {
  make(test::settings(ProxyKind::socks5h));
  (void)client->step(t0);
  EXPECT_EQ(test::bytes({5, 1, 0}), drain(*client));
  (void)client->step(t0 + 2s);
  EXPECT_EQ(drain(*client), "");
  ASSERT_TRUE(client_closed.has_value());
  EXPECT_EQ(*client_closed, ws::errc::handshake_timeout);
  EXPECT_EQ(client_reason, "");
  EXPECT_EQ(client_opens, 0);
  EXPECT_TRUE(client->should_close_transport());
  client->transport_closed();
}

}  // namespace
}  // namespace ws::proxy
