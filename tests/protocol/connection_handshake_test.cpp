// The opening handshake driven through a Connection (RFC 6455 4): a server
// that parses the request itself, a server built from a head the
// application already read, and a client, against each other in memory.
#include <gtest/gtest.h>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::Bytes;
using test::bytes_of;
using test::client_frame;
using test::concat;
using test::feed;
using test::OwnedEvent;
using test::take_output;

constexpr std::string_view valid_request =
    "GET /channel/meeting?user=ann HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Origin: http://example.com\r\n"
    "\r\n";

std::string output_text(Connection& c) { return test::text_of(take_output(c)); }

TEST(ConnectionHandshake, ServerParsesRequestAndFirstFrameFromOneRead) {
  Connection c = Connection::server();
  const Bytes wire = concat({bytes_of(valid_request), client_frame(Opcode::text, "hi")});
  c.receive(wire);
  auto event = c.next_event();
  ASSERT_TRUE(event && std::holds_alternative<UpgradeRequested>(*event));
  const UpgradeRequest& request = *std::get<UpgradeRequested>(*event).request;
  EXPECT_EQ(request.path, "/channel/meeting");
  EXPECT_EQ(request.query, "user=ann");
  EXPECT_EQ(request.origin, "http://example.com");
  // Nothing more until the application decides.
  EXPECT_EQ(c.next_event(), std::nullopt);
  AcceptOptions options;
  options.subprotocols = {"superchat"};
  ASSERT_FALSE(c.accept(options));
  const std::string response = output_text(c);
  EXPECT_EQ(response.rfind("HTTP/1.1 101 ", 0), 0U) << response;
  EXPECT_NE(response.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
  EXPECT_NE(response.find("Sec-WebSocket-Protocol: superchat\r\n"), std::string::npos);
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::opened);
  EXPECT_EQ(events[0].subprotocol, "superchat");
  EXPECT_EQ(events[1].text(), "hi");
  EXPECT_EQ(c.state(), State::open);
  EXPECT_EQ(c.subprotocol(), "superchat");
  ASSERT_NE(c.request(), nullptr);
  EXPECT_EQ(c.request()->path, "/channel/meeting");
}

TEST(ConnectionHandshake, ServerHandlesARequestFedOneByteAtATime) {
  Connection c = Connection::server();
  std::vector<OwnedEvent> events;
  for (char ch : valid_request) {
    c.receive(as_bytes(std::string_view(&ch, 1)));
    auto more = test::drain(c);
    events.insert(events.end(), more.begin(), more.end());
  }
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::upgrade_requested);
}

struct BadRequest {
  const char* name;
  std::string request;
  const char* status_line;
  errc error;
};

class ConnectionHandshakeRejects : public ::testing::TestWithParam<BadRequest> {};

TEST_P(ConnectionHandshakeRejects, AnswersWithTheRightStatusAndCloses) {
  const BadRequest& bad = GetParam();
  Connection c = Connection::server();
  const auto events = feed(c, bytes_of(bad.request));
  ASSERT_EQ(events.size(), 1U) << bad.name;
  EXPECT_EQ(events[0].type, OwnedEvent::Type::closed);
  EXPECT_EQ(events[0].error, bad.error) << events[0].error.message();
  EXPECT_EQ(events[0].error, condition::handshake_failed);
  const std::string response = output_text(c);
  EXPECT_EQ(response.rfind(bad.status_line, 0), 0U) << response;
  EXPECT_TRUE(c.should_close_transport());
}

std::string without(std::string_view line) {
  std::string request(valid_request);
  const auto at = request.find(line);
  request.erase(at, line.size());
  return request;
}

std::string replaced(std::string_view from, std::string_view to) {
  std::string request(valid_request);
  request.replace(request.find(from), from.size(), to);
  return request;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConnectionHandshakeRejects,
    ::testing::Values(
        BadRequest{"missing_key", without("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),
                   "HTTP/1.1 400", errc::missing_key},
        BadRequest{"wrong_version",
                   replaced("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"),
                   "HTTP/1.1 426", errc::unsupported_websocket_version},
        BadRequest{"post", replaced("GET ", "POST "), "HTTP/1.1 405", errc::method_not_get},
        BadRequest{"no_host", without("Host: example.com\r\n"), "HTTP/1.1 400", errc::missing_host},
        BadRequest{"garbage", "\x16\x03\x01\x02\xfc\x03\x03 not http\r\n\r\n", "HTTP/1.1 400",
                   errc::malformed_request_line},
        BadRequest{"huge_header",
                   replaced("Origin: http://example.com", "X-Big: " + std::string(9000, 'x')),
                   "HTTP/1.1 431", errc::head_too_large}),
    [](const ::testing::TestParamInfo<BadRequest>& param) {
      return std::string(param.param.name);
    });

TEST(ConnectionHandshake, VersionMismatchAdvertisesVersion13) {
  Connection c = Connection::server();
  feed(c, bytes_of(replaced("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8")));
  EXPECT_NE(output_text(c).find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
}

TEST(ConnectionHandshake, ApplicationRejectsWithItsOwnStatusAndBody) {
  Connection c = Connection::server();
  feed(c, bytes_of(valid_request));
  const std::vector<HeaderField> headers = {{"WWW-Authenticate", "Bearer"}};
  ASSERT_FALSE(c.reject(401, "who are you?", headers));
  const std::string response = output_text(c);
  EXPECT_EQ(response.rfind("HTTP/1.1 401", 0), 0U);
  EXPECT_NE(response.find("WWW-Authenticate: Bearer\r\n"), std::string::npos);
  EXPECT_NE(response.find("who are you?"), std::string::npos);
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::rejected_by_application);
  EXPECT_TRUE(c.should_close_transport());
}

TEST(ConnectionHandshake, AcceptBeforeARequestIsMisuse) {
  Connection c = Connection::server();
  EXPECT_EQ(c.accept(), errc::not_open);
  EXPECT_EQ(c.send_text("early"), errc::not_open);
}

TEST(ConnectionHandshake, EndOfStreamDuringTheHandshakeIsReported) {
  Connection c = Connection::server();
  c.receive(bytes_of("GET / HTTP/1.1\r\n"));
  EXPECT_TRUE(test::drain(c).empty());
  c.receive_eof();
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::unexpected_eof);
}

TEST(ConnectionHandshake, HandshakeTimesOut) {
  Config config;
  config.timeouts.handshake_timeout = std::chrono::seconds(3);
  Connection c = Connection::server(config);
  const TimePoint start{};
  c.advance_time(start);
  EXPECT_EQ(c.next_deadline(), start + std::chrono::seconds(3));
  c.advance_time(start + std::chrono::seconds(3));
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::handshake_timeout);
}

// The original use case: an HTTP server read the head itself, saw an
// upgrade, and hands over the head and what it read past it.
TEST(ConnectionHandshake, AcceptsAHeadTheApplicationAlreadyRead) {
  ASSERT_TRUE(is_upgrade(valid_request));
  const Bytes first_frame = client_frame(Opcode::binary, "already read");
  Result<Connection> accepted = Connection::accept_upgrade(valid_request, first_frame);
  ASSERT_TRUE(accepted.has_value());
  Connection& c = *accepted;
  EXPECT_EQ(c.state(), State::open);
  EXPECT_EQ(output_text(c).rfind("HTTP/1.1 101 ", 0), 0U);
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::opened);
  EXPECT_EQ(events[1].text(), "already read");
}

TEST(ConnectionHandshake, AcceptUpgradeReportsAnInvalidHead) {
  Result<Connection> accepted = Connection::accept_upgrade(without("Upgrade: websocket\r\n"), {});
  ASSERT_FALSE(accepted.has_value());
  EXPECT_EQ(accepted.error(), errc::missing_upgrade_websocket);
  EXPECT_EQ(build_error_response(accepted.error()).rfind("HTTP/1.1 400", 0), 0U);
}

// ---- client against server, in memory ----

struct Peers {
  std::vector<OwnedEvent> client_events;
  std::vector<OwnedEvent> server_events;
};

// Moves bytes both ways in pieces of `chunk` until neither side has output.
// The server accepts with `options` when asked, or rejects with `reject_status`.
void pump(Connection& client, Connection& server, Peers& peers, std::size_t chunk,
          const AcceptOptions& options = {}, int reject_status = 0) {
  const auto move = [chunk](Connection& from, Connection& to, std::vector<OwnedEvent>& events) {
    const Bytes bytes = take_output(from);
    ByteView rest(bytes);
    bool moved = !rest.empty();
    while (!rest.empty()) {
      const std::size_t n = to.receive(rest.first(std::min(chunk, rest.size())));
      rest = rest.subspan(n);
      while (auto event = to.next_event()) events.push_back(test::own(*event));
    }
    return moved;
  };
  for (int round = 0; round < 100; ++round) {
    bool moved = move(client, server, peers.server_events);
    if (!peers.server_events.empty() &&
        peers.server_events.back().type == OwnedEvent::Type::upgrade_requested) {
      if (reject_status != 0) {
        ASSERT_FALSE(server.reject(reject_status, "go elsewhere",
                                   std::vector<HeaderField>{{"Location", "/elsewhere"}}));
      } else {
        ASSERT_FALSE(server.accept(options));
      }
      while (auto event = server.next_event()) peers.server_events.push_back(test::own(*event));
    }
    moved = move(server, client, peers.client_events) || moved;
    if (!moved) return;
  }
}

TEST(ConnectionHandshake, ClientAndServerAgreeOnASubprotocolAndTalk) {
  ClientHandshakeOptions client_options;
  client_options.subprotocols = {"v1.chat", "v2.chat"};
  client_options.origin = "http://localhost";
  Result<Connection> made = Connection::client("ws://localhost:8080/chat?x=1", client_options);
  ASSERT_TRUE(made.has_value());
  Connection& client = *made;
  Connection server = Connection::server();
  AcceptOptions accept;
  accept.subprotocols = {"v2.chat"};
  Peers peers;
  pump(client, server, peers, 1, accept);  // the handshake a byte at a time
  ASSERT_GE(peers.client_events.size(), 1U);
  EXPECT_EQ(peers.client_events[0].type, OwnedEvent::Type::opened);
  EXPECT_EQ(peers.client_events[0].subprotocol, "v2.chat");
  EXPECT_EQ(client.subprotocol(), "v2.chat");
  ASSERT_NE(server.request(), nullptr);
  EXPECT_EQ(server.request()->path, "/chat");
  EXPECT_EQ(server.request()->origin, "http://localhost");

  ASSERT_FALSE(client.send_text("hello"));
  ASSERT_FALSE(server.send_text("welcome"));
  pump(client, server, peers, 3);
  EXPECT_EQ(peers.server_events.back().text(), "hello");
  EXPECT_EQ(peers.client_events.back().text(), "welcome");
}

TEST(ConnectionHandshake, ClientReceivesTheServersRejectionWithHeadersAndBody) {
  Result<Connection> made = Connection::client("ws://127.0.0.1:9/");
  ASSERT_TRUE(made.has_value());
  Connection& client = *made;
  Connection server = Connection::server();
  Peers peers;
  pump(client, server, peers, 5, {}, 302);
  ASSERT_EQ(peers.client_events.size(), 2U);
  const OwnedEvent& rejected = peers.client_events[0];
  EXPECT_EQ(rejected.type, OwnedEvent::Type::rejected);
  EXPECT_EQ(rejected.status, 302);
  EXPECT_EQ(rejected.text(), "go elsewhere");
  bool saw_location = false;
  for (const auto& [name, value] : rejected.headers) {
    if (name == "Location" && value == "/elsewhere") saw_location = true;
  }
  EXPECT_TRUE(saw_location);
  EXPECT_EQ(peers.client_events[1].error, errc::unexpected_status);
  EXPECT_TRUE(client.should_close_transport());
}

TEST(ConnectionHandshake, ClientFailsOnAWrongAcceptValue) {
  Result<Connection> made = Connection::client("ws://localhost/");
  ASSERT_TRUE(made.has_value());
  Connection& client = *made;
  take_output(client);
  const auto events =
      feed(client, bytes_of("HTTP/1.1 101 Switching Protocols\r\n"
                            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::accept_mismatch);
  EXPECT_TRUE(client.should_close_transport());
}

TEST(ConnectionHandshake, ClientRefusesAnInvalidUrl) {
  EXPECT_EQ(Connection::client("http://example.com/").error(), errc::invalid_url);
  EXPECT_EQ(Connection::client("ws://user@example.com/").error(), errc::invalid_url);
  EXPECT_EQ(Connection::client("ws://example.com/#frag").error(), errc::invalid_url);
}

TEST(ConnectionHandshake, ClientKeyComesFromTheRandomSource) {
  Config config;
  config.random = [](MutableByteView out) {
    for (std::byte& b : out) b = std::byte{0};
  };
  Result<Connection> made = Connection::client("ws://localhost/", {}, config);
  ASSERT_TRUE(made.has_value());
  // 16 zero bytes in base64.
  EXPECT_NE(output_text(*made).find("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"),
            std::string::npos);
}

}  // namespace
}  // namespace ws

namespace ws {
namespace {

// One port, one routine: with serve_plain_http a request that is not an
// upgrade reaches the application, which answers it as plain HTTP.
TEST(ConnectionPlainHttp, NonUpgradeRequestIsHandedToTheApplication) {
  Config config;
  config.serve_plain_http = true;
  Connection c = Connection::server(config);
  c.receive(test::bytes_of("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto event = c.next_event();
  ASSERT_TRUE(event && std::holds_alternative<HttpRequested>(*event));
  EXPECT_EQ(std::get<HttpRequested>(*event).head->target, "/index.html");
  EXPECT_EQ(c.accept(), errc::not_open);
  const std::vector<HeaderField> headers = {{"Content-Type", "text/html"}};
  ASSERT_FALSE(c.reject(200, "<p>hi</p>", headers));
  const std::string response = test::text_of(test::take_output(c));
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0U) << response;
  EXPECT_NE(response.find("<p>hi</p>"), std::string::npos);
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::answered_as_http);
  EXPECT_TRUE(c.should_close_transport());
}

TEST(ConnectionPlainHttp, UpgradesStillUpgrade) {
  Config config;
  config.serve_plain_http = true;
  Connection c = Connection::server(config);
  const auto events = test::feed(c, test::bytes_of(valid_request));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, test::OwnedEvent::Type::upgrade_requested);
}

TEST(ConnectionPlainHttp, WithoutTheOptionANonUpgradeGets400) {
  Connection c = Connection::server();
  const auto events = test::feed(c, test::bytes_of("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::missing_upgrade_websocket);
}

}  // namespace
}  // namespace ws
