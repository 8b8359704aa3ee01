// Blocking adapter: the three ways in (serve_upgraded for an HTTP server that
// read the head, serve, and the blocking client), over loopback sockets.
#include <gtest/gtest.h>

#include "blocking_test_support.hpp"
#include "ws/base/error.hpp"

namespace ws::posix::test {
namespace {

using Type = OwnedEvent::Type;

TEST(BlockingHandshake, ServeUpgradedTakesTheHeadAndTheFrameBytesReadWithIt) {
  Listener listener;
  Recorder server;
  server.echo = true;
  RawClient client(listener.port);
  // Head and first frame in one write, so the application's read gets both.
  client.send(ws::test::concat({ws::test::bytes_of(ws::test::valid_upgrade_request()),
                                ws::test::client_frame(Opcode::text, "first")}));
  ServerThread thread(listener, server, {}, Entry::serve_upgraded);

  const std::string head = client.read_response_head();
  EXPECT_EQ(head.rfind("HTTP/1.1 101 ", 0), 0U) << head;
  EXPECT_NE(head.find(std::string(ws::test::kRfcAccept)), std::string::npos);
  const std::optional<OwnedEvent> echo = client.next_event();
  ASSERT_TRUE(echo.has_value());
  EXPECT_EQ(echo->text(), "first");

  client.send(ws::test::client_frame(Opcode::close, "\x03\xe8"));
  EXPECT_FALSE(thread.result());
  EXPECT_GT(thread.bytes_after_head(), 0U);
  ASSERT_TRUE(server.closed().has_value());
  EXPECT_EQ(server.closed()->code, CloseCode::normal);
  EXPECT_FALSE(server.closed()->error);
  ASSERT_NE(server.session(), nullptr);
  ASSERT_NE(server.session()->request(), nullptr);
  EXPECT_EQ(server.session()->request()->path, "/chat");
  EXPECT_EQ(server.session()->request()->query, "room=1");
}

TEST(BlockingHandshake, ServeUpgradedAnswersAnInvalidHeadWithItsErrorResponse) {
  Listener listener;
  Recorder server;
  RawClient client(listener.port);
  // RFC 6455 4.2.1 item 1: the method must be GET.
  client.send(ws::test::head_text("POST /chat HTTP/1.1", ws::test::upgrade_fields()));
  ServerThread thread(listener, server, {}, Entry::serve_upgraded);

  const std::string head = client.read_response_head();
  EXPECT_EQ(head.rfind("HTTP/1.1 405 ", 0), 0U) << head;
  EXPECT_EQ(thread.result(), errc::method_not_get);
  EXPECT_TRUE(client.wait_for_eof());
  EXPECT_TRUE(server.events().empty());  // never opened, so never closed either
}

TEST(BlockingHandshake, ServeUpgradedLetsTheHandlerRejectTheRequest) {
  Listener listener;
  Recorder server;
  server.decide = [](const UpgradeRequest& request, const AcceptOptions&) {
    EXPECT_EQ(request.path, "/chat");
    return UpgradeDecision::reject(403, "members only");
  };
  RawClient client(listener.port);
  client.send(ws::test::valid_upgrade_request());
  ServerThread thread(listener, server, {}, Entry::serve_upgraded);

  const std::string head = client.read_response_head();
  EXPECT_EQ(head.rfind("HTTP/1.1 403 ", 0), 0U) << head;
  EXPECT_EQ(thread.result(), errc::rejected_by_application);
}

TEST(BlockingHandshake, ServeReadsTheRequestAndAcceptsWithTheChosenSubprotocol) {
  Listener listener;
  Recorder server;
  server.decide = [](const UpgradeRequest& request, const AcceptOptions& defaults) {
    EXPECT_EQ(request.path, "/chat");
    AcceptOptions options = defaults;
    options.subprotocols = {"chat.v2"};
    return UpgradeDecision::accept_with(options);
  };
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  client.send(ws::test::head_text(
      "GET /chat HTTP/1.1",
      ws::test::with(ws::test::upgrade_fields(), "Sec-WebSocket-Protocol", "chat.v1, chat.v2")));

  const std::string head = client.read_response_head();
  EXPECT_EQ(head.rfind("HTTP/1.1 101 ", 0), 0U) << head;
  EXPECT_NE(head.find("Sec-WebSocket-Protocol: chat.v2"), std::string::npos) << head;
  const BlockingSessionPtr session = server.wait_for_session();
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(session->subprotocol(), "chat.v2");
  EXPECT_EQ(session->role(), Role::server);

  client.send(ws::test::client_frame(Opcode::close, "\x03\xe8"));
  EXPECT_FALSE(thread.result());
}

TEST(BlockingHandshake, ServeRejectsThroughTheHandlerDecision) {
  Listener listener;
  Recorder server;
  server.decide = [](const UpgradeRequest&, const AcceptOptions&) {
    return UpgradeDecision::reject(404, "no such room");
  };
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  const std::string head = client.handshake();
  EXPECT_EQ(head.rfind("HTTP/1.1 404 ", 0), 0U) << head;
  EXPECT_EQ(thread.result(), errc::rejected_by_application);
  EXPECT_TRUE(server.events().empty());
}

TEST(BlockingHandshake, ServeAnswersAnInvalidRequestItself) {
  Listener listener;
  Recorder server;
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  client.send(ws::test::head_text(
      "GET /chat HTTP/1.1",
      ws::test::with(ws::test::upgrade_fields(), "Sec-WebSocket-Version", "8")));
  const std::string head = client.read_response_head();
  // RFC 6455 4.4: 426 with the versions the server speaks.
  EXPECT_EQ(head.rfind("HTTP/1.1 426 ", 0), 0U) << head;
  EXPECT_EQ(thread.result(), errc::unsupported_websocket_version);
}

TEST(BlockingHandshake, ServeGivesUpOnASilentClientAtTheHandshakeTimeout) {
  Listener listener;
  Recorder server;
  BlockingOptions options;
  options.config.timeouts.handshake_timeout = 100ms;
  ServerThread thread(listener, server, options);
  RawClient client(listener.port);
  EXPECT_EQ(thread.result(), errc::handshake_timeout);
}

TEST(BlockingHandshake, ClientTalksToTheBlockingServer) {
  Listener listener;
  Recorder server;
  server.echo = true;
  ServerThread thread(listener, server);

  Recorder client;
  client.opened_hook = [](const BlockingSessionPtr& session) {
    EXPECT_EQ(session->role(), Role::client);
    EXPECT_FALSE(session->send_text("hello"));
  };
  client.message_hook = [](const BlockingSessionPtr& session, const Message& message) {
    EXPECT_EQ(message.text(), "hello");
    EXPECT_FALSE(session->close(CloseCode::normal, "done"));
  };
  EXPECT_FALSE(connect(listener.url(), client));
  EXPECT_FALSE(thread.result());

  ASSERT_TRUE(client.closed().has_value());
  EXPECT_EQ(client.closed()->code, CloseCode::normal);
  ASSERT_TRUE(server.closed().has_value());
  EXPECT_EQ(server.closed()->code, CloseCode::normal);
  EXPECT_EQ(server.closed()->text(), "done");
  EXPECT_EQ(server.messages().size(), 1U);
}

TEST(BlockingHandshake, ClientReportsARefusedUpgrade) {
  Listener listener;
  Recorder server;
  server.decide = [](const UpgradeRequest&, const AcceptOptions&) {
    return UpgradeDecision::reject(401, "who are you");
  };
  ServerThread thread(listener, server);
  Recorder client;
  EXPECT_EQ(connect(listener.url(), client), errc::unexpected_status);
  EXPECT_TRUE(client.events().empty());
  EXPECT_EQ(thread.result(), errc::rejected_by_application);
}

// ws/driver/handler.hpp: a Handler's on_close comes once for every client
// session, a refused connect too, on every transport. The blocking client
// reached through the Handler shape must keep that promise (the virtual
// BlockingHandler keeps its own: close only after open).
TEST(BlockingHandshake, HandlerShapedClientHearsOnCloseAfterARefusedUpgrade) {
  Listener listener;
  Recorder server;
  server.decide = [](const UpgradeRequest&, const AcceptOptions&) {
    return UpgradeDecision::reject(403, "members only");
  };
  ServerThread thread(listener, server);
  std::vector<std::string> seen;
  std::optional<Closed> closed;
  Handler handler;
  handler.on_rejected = [&](const SessionPtr& session, const Rejected& rejected) {
    EXPECT_NE(session, nullptr);
    seen.push_back("rejected " + std::to_string(rejected.status));
  };
  handler.on_close = [&](const SessionPtr& session, const Closed& end) {
    EXPECT_NE(session, nullptr);
    seen.push_back("close");
    closed = end;
  };
  EXPECT_EQ(connect(listener.url(), handler), errc::unexpected_status);
  EXPECT_EQ(seen, (std::vector<std::string>{"rejected 403", "close"}));
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->error, errc::unexpected_status);
  EXPECT_EQ(thread.result(), errc::rejected_by_application);
}

TEST(BlockingHandshake, ClientRefusesSecureUrlsAndBadUrls) {
  Recorder client;
  EXPECT_EQ(connect("wss://127.0.0.1:1/", client), errc::invalid_url);
  EXPECT_EQ(connect("http://127.0.0.1:1/", client), errc::invalid_url);
}

TEST(BlockingHandshake, ClientReportsAConnectError) {
  std::uint16_t port = 0;
  {
    Listener closed_again;  // a port that was free a moment ago
    port = closed_again.port;
  }
  Recorder client;
  EXPECT_EQ(connect("ws://127.0.0.1:" + std::to_string(port) + "/", client),
            std::errc::connection_refused);
}

}  // namespace
}  // namespace ws::posix::test
