// A WebSocket carried by one stream of an HTTP/2 connection (RFC 8441): the
// HTTP/2 layer hands over the extended CONNECT it received; the Connection
// emits the same UpgradeRequested as over HTTP/1.1, and accept() and reject()
// make an answer for the HTTP/2 layer instead of HTTP bytes. Frames then
// flow exactly as over HTTP/1.1 (RFC 8441 5: the stream's DATA carry them).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "support/frames.hpp"
#include "support/handshake_text.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::OwnedEvent;

ExtendedConnectRequest websocket_connect() {
  ExtendedConnectRequest request =
      test::extended_connect({{"sec-websocket-version", "13"},
                              {"sec-websocket-protocol", "chat, superchat"},
                              {"origin", "https://server.example.com"}});
  request.path = "/chat?room=1";
  return request;
}

std::string field(const StreamAnswer& answer, std::string_view name) {
  for (const HeaderField& f : answer.fields) {
    if (f.name == name) return f.value;
  }
  return "<none>";
}

TEST(ConnectionOverHttp2, AsksTheApplicationWithTheSameEvent) {
  Result<Connection> made = Connection::server_for_stream(websocket_connect());
  ASSERT_TRUE(made) << made.error().message();
  Connection& c = *made;
  std::optional<Event> event = c.next_event();
  ASSERT_TRUE(event && std::holds_alternative<UpgradeRequested>(*event));
  const UpgradeRequest& request = *std::get<UpgradeRequested>(*event).request;
  EXPECT_EQ(request.carriage, HandshakeCarriage::http2_extended_connect);
  EXPECT_EQ(request.path, "/chat");
  EXPECT_EQ(request.query, "room=1");
  EXPECT_EQ(request.host, "server.example.com");
  EXPECT_EQ(request.origin, "https://server.example.com");
  EXPECT_EQ(c.state(), State::handshaking);
  EXPECT_FALSE(c.next_event());  // waits for the decision
  EXPECT_FALSE(c.take_stream_answer());
}

// release_request() frees a request the application is done with; before
// UpgradeRequested went out the request is still to be decided, so it stays
// (a driver that releases requests as soon as it is made must not leave the
// event pointing at nothing).
TEST(ConnectionOverHttp2, ReleasingTheRequestBeforeTheDecisionKeepsIt) {
  Result<Connection> made = Connection::server_for_stream(websocket_connect());
  ASSERT_TRUE(made) << made.error().message();
  Connection& c = *made;
  c.release_request();
  ASSERT_NE(c.request(), nullptr);
  std::optional<Event> event = c.next_event();
  ASSERT_TRUE(event && std::holds_alternative<UpgradeRequested>(*event));
  ASSERT_NE(std::get<UpgradeRequested>(*event).request, nullptr);
  EXPECT_EQ(std::get<UpgradeRequested>(*event).request->path, "/chat");
  ASSERT_FALSE(c.accept());
  c.release_request();
  EXPECT_EQ(c.request(), nullptr);  // decided: now it goes
}

TEST(ConnectionOverHttp2, AcceptAnswers200WithoutAcceptKeyAndQueuesNoBytes) {
  // RFC 8441 5: a 2xx answer, no Sec-WebSocket-Accept, the subprotocol
  // chosen as over HTTP/1.1.
  Connection c = std::move(*Connection::server_for_stream(websocket_connect()));
  (void)c.next_event();
  AcceptOptions options;
  options.subprotocols = {"superchat"};
  options.extra_headers = {{"Set-Cookie", "id=1"}};
  ASSERT_FALSE(c.accept(options));
  EXPECT_EQ(c.pending_output_size(), 0U);
  std::optional<StreamAnswer> answer = c.take_stream_answer();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(field(*answer, "sec-websocket-protocol"), "superchat");
  EXPECT_EQ(field(*answer, "set-cookie"), "id=1");
  EXPECT_EQ(field(*answer, "sec-websocket-accept"), "<none>");
  EXPECT_TRUE(answer->body.empty());
  EXPECT_FALSE(c.take_stream_answer());  // once
  std::optional<Event> opened = c.next_event();
  ASSERT_TRUE(opened && std::holds_alternative<Opened>(*opened));
  EXPECT_EQ(std::get<Opened>(*opened).subprotocol, "superchat");
  EXPECT_EQ(c.subprotocol(), "superchat");
  EXPECT_EQ(c.state(), State::open);
}

TEST(ConnectionOverHttp2, FramesFlowAsOverHttp1) {
  Connection c = std::move(*Connection::server_for_stream(websocket_connect()));
  (void)c.next_event();
  ASSERT_FALSE(c.accept());
  (void)c.take_stream_answer();
  (void)c.next_event();  // Opened
  const std::vector<OwnedEvent> events =
      test::feed(c, test::client_frame(Opcode::text, "hello over a stream"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].text(), "hello over a stream");
  ASSERT_FALSE(c.send_text("back"));
  // The first bytes out are a frame: there is no HTTP head on a stream.
  const std::vector<test::ParsedFrame> frames = test::parse_frames(test::take_output(c));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::text);
  // A close ends the WebSocket; the HTTP/2 layer then ends the stream.
  ASSERT_FALSE(c.close());
  const std::vector<OwnedEvent> closed =
      test::feed(c, test::client_frame(Opcode::close, test::text_of(test::close_payload(1000))));
  ASSERT_EQ(closed.size(), 1U);
  EXPECT_EQ(closed[0].type, OwnedEvent::Type::closed);
  (void)test::take_output(c);
  EXPECT_TRUE(c.should_close_transport());
}

TEST(ConnectionOverHttp2, RejectMakesAnAnswerWithItsBody) {
  Connection c = std::move(*Connection::server_for_stream(websocket_connect()));
  (void)c.next_event();
  const HeaderField headers[] = {{"Retry-After", "5"}};
  ASSERT_FALSE(c.reject(503, "busy", headers));
  EXPECT_EQ(c.pending_output_size(), 0U);
  std::optional<StreamAnswer> answer = c.take_stream_answer();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 503);
  EXPECT_EQ(answer->body, "busy");
  EXPECT_EQ(field(*answer, "retry-after"), "5");
  EXPECT_EQ(field(*answer, "content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(field(*answer, "connection"), "<none>");  // RFC 9113 8.2.2
  std::optional<Event> closed = c.next_event();
  ASSERT_TRUE(closed && std::holds_alternative<Closed>(*closed));
  EXPECT_EQ(std::get<Closed>(*closed).error, errc::rejected_by_application);
  EXPECT_TRUE(c.should_close_transport());
}

TEST(ConnectionOverHttp2, ARejectionMayNotLookLikeAnAcceptance) {
  // RFC 8441 5: any 2xx opens the WebSocket.
  Connection c = std::move(*Connection::server_for_stream(websocket_connect()));
  (void)c.next_event();
  EXPECT_EQ(c.reject(204), errc::invalid_handshake_option);
  EXPECT_FALSE(c.take_stream_answer());
  EXPECT_EQ(c.state(), State::handshaking);
  ASSERT_FALSE(c.reject(403, "no"));
  EXPECT_EQ(c.take_stream_answer()->status, 403);
}

TEST(ConnectionOverHttp2, AnInvalidConnectIsRefusedBeforeAConnectionExists) {
  ExtendedConnectRequest request = websocket_connect();
  request.protocol = "not-websocket";
  Result<Connection> made = Connection::server_for_stream(request);
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error(), errc::missing_protocol_websocket);
  EXPECT_EQ(http_status_for(made.error()), 400);
}

TEST(ConnectionOverHttp2, AnHttp1ConnectionHasNoStreamAnswer) {
  Connection c = Connection::server();
  (void)c.receive(test::bytes_of(
      "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  std::optional<Event> event = c.next_event();
  ASSERT_TRUE(event && std::holds_alternative<UpgradeRequested>(*event));
  EXPECT_EQ(std::get<UpgradeRequested>(*event).request->carriage, HandshakeCarriage::http1_upgrade);
  ASSERT_FALSE(c.accept());
  EXPECT_FALSE(c.take_stream_answer());
  EXPECT_GT(c.pending_output_size(), 0U);  // the 101
}

}  // namespace
}  // namespace ws

namespace ws {
namespace {

TEST(ConnectionOverHttp2, TheStreamEndsOnlyOnceTheRejectionWasTaken) {
  Connection c = std::move(*Connection::server_for_stream(websocket_connect()));
  (void)c.next_event();
  ASSERT_FALSE(c.reject(403));
  EXPECT_FALSE(c.should_close_transport());  // the 403 is still to be sent
  ASSERT_TRUE(c.take_stream_answer());
  EXPECT_TRUE(c.should_close_transport());
}

TEST(ConnectionOverHttp2, NoAnswerBeforeTheApplicationWasAsked) {
  Connection c = std::move(*Connection::server_for_stream(websocket_connect()));
  EXPECT_EQ(c.accept(), errc::not_open);
  EXPECT_EQ(c.reject(403), errc::not_open);
  std::optional<Event> event = c.next_event();
  ASSERT_TRUE(event && std::holds_alternative<UpgradeRequested>(*event));
  EXPECT_FALSE(c.accept());
}

TEST(ConnectionOverHttp2, TheHandshakeTimeoutLeavesNoAnswer) {
  // The HTTP/2 layer resets a stream that closed with nothing to send.
  Config config;
  config.timeouts.handshake_timeout = std::chrono::milliseconds(100);
  Connection c = std::move(
      *Connection::server_for_stream(websocket_connect(), std::make_shared<const Config>(config)));
  const TimePoint start{};
  c.advance_time(start);
  (void)c.next_event();  // UpgradeRequested; the application never answers
  c.advance_time(start + std::chrono::milliseconds(100));
  std::optional<Event> closed = c.next_event();
  ASSERT_TRUE(closed && std::holds_alternative<Closed>(*closed));
  EXPECT_EQ(std::get<Closed>(*closed).error, errc::handshake_timeout);
  EXPECT_FALSE(c.take_stream_answer());
  EXPECT_EQ(c.pending_output_size(), 0U);
  EXPECT_TRUE(c.should_close_transport());
}

TEST(ConnectionOverHttp2, FramesThatCameBeforeTheAnswerFollowOpened) {
  Connection c = std::move(*Connection::server_for_stream(websocket_connect()));
  (void)c.next_event();
  const test::Bytes frame = test::client_frame(Opcode::binary, "early");
  ASSERT_EQ(c.receive(frame), frame.size());
  EXPECT_FALSE(c.next_event());  // still waiting for the decision
  ASSERT_FALSE(c.accept());
  const std::vector<OwnedEvent> events = test::drain(c);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::opened);
  EXPECT_EQ(events[1].text(), "early");
}

TEST(ConnectionOverHttp2, ARejectionRefusesFieldsHttp2Forbids) {
  // RFC 9113 8.2.2: connection-specific fields make the response malformed.
  Connection c = std::move(*Connection::server_for_stream(websocket_connect()));
  (void)c.next_event();
  const HeaderField connection[] = {{"Connection", "close"}};
  EXPECT_EQ(c.reject(403, "", connection), errc::invalid_handshake_option);
  const HeaderField upgrade[] = {{"upgrade", "h2c"}};
  EXPECT_EQ(c.reject(403, "", upgrade), errc::invalid_handshake_option);
  EXPECT_FALSE(c.take_stream_answer());
  EXPECT_FALSE(c.reject(403));
}

TEST(ConnectionOverHttp2, TheConnectsFieldsAreBoundedLikeAHead) {
  Config config;
  config.http_limits.max_header_count = 4;
  const auto shared = std::make_shared<const Config>(config);
  ExtendedConnectRequest many = websocket_connect();
  for (int i = 0; i < 2; ++i) many.headers.push_back({"x-filler", "1"});
  EXPECT_EQ(Connection::server_for_stream(many, shared).error(), errc::too_many_headers);
  ExtendedConnectRequest large = websocket_connect();
  large.headers.push_back({"cookie", std::string(10000, 'c')});
  const Result<Connection> refused = Connection::server_for_stream(large);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), errc::head_too_large);
  EXPECT_EQ(http_status_for(refused.error()), 431);
}

}  // namespace
}  // namespace ws

namespace ws {
namespace {

TEST(ConnectionOverHttp2, APeerFloodingBeforeTheAnswerIsHeldToTheInputLimit) {
  // A hostile peer sends DATA while the application decides: the connection
  // keeps no more than max_buffered_input; the HTTP/2 layer holds the rest
  // back (its flow control window stays closed meanwhile).
  Config config;
  config.limits.max_buffered_input = 4096;
  Connection c = std::move(
      *Connection::server_for_stream(websocket_connect(), std::make_shared<const Config>(config)));
  (void)c.next_event();
  const test::Bytes flood(64 * 1024, std::byte{0x82});
  const std::size_t taken = c.receive(flood);
  EXPECT_EQ(taken, 4096U);
  EXPECT_EQ(c.receive(flood), 0U);
  EXPECT_EQ(c.receive_room(), 0U);
  EXPECT_FALSE(c.next_event());  // nothing is parsed before the answer
  EXPECT_EQ(c.state(), State::handshaking);
}

}  // namespace
}  // namespace ws

// ---- The client side (RFC 8441 4-5) ------------------------------------------

namespace ws {
namespace {

std::string field_of(const ExtendedConnectRequest& request, std::string_view name) {
  for (const HeaderField& f : request.headers) {
    if (f.name == name) return f.value;
  }
  return "<none>";
}

TEST(ClientOverHttp2, MakesTheExtendedConnectAndQueuesNoBytes) {
  ClientHandshakeOptions options;
  options.origin = "https://app.example";
  options.subprotocols = {"chat", "superchat"};
  options.extra_headers = {{"Authorization", "Bearer t"}};
  Result<Connection> made =
      Connection::client_for_stream("wss://server.example:8443/chat?room=1", options);
  ASSERT_TRUE(made) << made.error().message();
  Connection& c = *made;
  EXPECT_EQ(c.pending_output_size(), 0U);
  std::optional<ExtendedConnectRequest> request = c.take_stream_request();
  ASSERT_TRUE(request);
  EXPECT_EQ(request->method, "CONNECT");
  EXPECT_EQ(request->protocol, "websocket");
  EXPECT_EQ(request->scheme, "https");
  EXPECT_EQ(request->authority, "server.example:8443");
  EXPECT_EQ(request->path, "/chat?room=1");
  EXPECT_EQ(field_of(*request, "sec-websocket-version"), "13");
  EXPECT_EQ(field_of(*request, "sec-websocket-protocol"), "chat, superchat");
  EXPECT_EQ(field_of(*request, "origin"), "https://app.example");
  EXPECT_EQ(field_of(*request, "authorization"), "Bearer t");  // lower-cased
  EXPECT_EQ(field_of(*request, "sec-websocket-key"), "<none>");
  EXPECT_FALSE(c.take_stream_request());  // once
  EXPECT_FALSE(c.next_event());           // waits for the answer
}

// RFC 9113 8.2.2: fields HTTP/2 forbids cannot be asked for.
TEST(ClientOverHttp2, RefusesFieldsHttp2Forbids) {
  for (const char* name : {"TE", "Keep-Alive", "Proxy-Connection", "Connection", "Upgrade"}) {
    ClientHandshakeOptions options;
    options.extra_headers = {{name, "x"}};
    Result<Connection> made = Connection::client_for_stream("ws://h/", options);
    ASSERT_FALSE(made) << name;
    EXPECT_EQ(made.error(), errc::invalid_handshake_option) << name;
  }
}

TEST(ClientOverHttp2, A200OpensWithTheChosenSubprotocolAndFramesAreMasked) {
  ClientHandshakeOptions options;
  options.subprotocols = {"chat"};
  Connection c = std::move(*Connection::client_for_stream("ws://h/chat", options));
  (void)c.take_stream_request();
  const std::vector<HeaderField> fields = {{"sec-websocket-protocol", "chat"}};
  ASSERT_FALSE(c.receive_stream_response(200, fields));
  std::optional<Event> event = c.next_event();
  ASSERT_TRUE(event && std::holds_alternative<Opened>(*event));
  EXPECT_EQ(std::get<Opened>(*event).subprotocol, "chat");
  EXPECT_EQ(c.state(), State::open);
  ASSERT_FALSE(c.send_text("hi"));
  const test::Bytes out = test::take_output(c);
  ASSERT_GE(out.size(), 2U);
  EXPECT_NE(std::to_integer<unsigned>(out[1]) & 0x80U, 0U);       // RFC 6455 5.3 still applies
  EXPECT_EQ(c.receive_stream_response(200, {}), errc::not_open);  // once
}

TEST(ClientOverHttp2, AnotherStatusIsRejectedWithItsFieldsAndBody) {
  Connection c = std::move(*Connection::client_for_stream("ws://h/chat"));
  (void)c.take_stream_request();
  const std::vector<HeaderField> fields = {{"www-authenticate", "Bearer"}};
  ASSERT_FALSE(c.receive_stream_response(401, fields, "log in first\n"));
  std::vector<test::OwnedEvent> events = test::drain(c);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].type, test::OwnedEvent::Type::rejected);
  EXPECT_EQ(events[0].status, 401);
  ASSERT_EQ(events[0].headers.size(), 1U);
  EXPECT_EQ(events[0].headers[0].first, "www-authenticate");
  EXPECT_EQ(events[0].text(), "log in first\n");
  EXPECT_EQ(events[1].type, test::OwnedEvent::Type::closed);
  EXPECT_EQ(events[1].error, errc::unexpected_status);
}

TEST(ClientOverHttp2, ASubprotocolNotOfferedFailsTheHandshake) {
  Connection c = std::move(*Connection::client_for_stream("ws://h/chat"));
  const std::vector<HeaderField> fields = {{"sec-websocket-protocol", "chat"}};
  ASSERT_FALSE(c.receive_stream_response(200, fields));
  std::vector<test::OwnedEvent> events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, test::OwnedEvent::Type::closed);
  EXPECT_EQ(events[0].error, errc::unexpected_subprotocol);
}

TEST(ClientOverHttp2, TheStreamEndingBeforeAnAnswerIsAnUnexpectedEof) {
  Connection c = std::move(*Connection::client_for_stream("ws://h/chat"));
  c.receive_eof();
  std::vector<test::OwnedEvent> events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::unexpected_eof);
}

// Both ends in memory, the HTTP/2 layer played by the test: the request
// and the answer cross as values, the frames as bytes.
TEST(ClientOverHttp2, TalksToAServerForStream) {
  ClientHandshakeOptions options;
  options.subprotocols = {"chat"};
  Connection client = std::move(*Connection::client_for_stream("ws://h/room", options));
  Result<Connection> made = Connection::server_for_stream(*client.take_stream_request());
  ASSERT_TRUE(made) << made.error().message();
  Connection& server = *made;
  ASSERT_TRUE(std::holds_alternative<UpgradeRequested>(*server.next_event()));
  AcceptOptions accept;
  accept.subprotocols = {"chat"};
  ASSERT_FALSE(server.accept(accept));
  const StreamAnswer answer = *server.take_stream_answer();
  ASSERT_FALSE(client.receive_stream_response(answer.status, answer.fields));
  ASSERT_TRUE(std::holds_alternative<Opened>(*client.next_event()));
  ASSERT_FALSE(client.send_text("over one stream"));
  std::vector<test::OwnedEvent> got = test::feed(server, test::take_output(client));
  auto message = std::find_if(got.begin(), got.end(), [](const test::OwnedEvent& e) {
    return e.type == test::OwnedEvent::Type::message;
  });
  ASSERT_NE(message, got.end());
  EXPECT_EQ(message->text(), "over one stream");
}

}  // namespace
}  // namespace ws
