// Releasing what an idle connection holds: buffers that hold nothing, and the
// upgrade request once the application is done with it. Nothing that is
// still needed may be lost: partial frames, a message being joined, output
// not yet written.
#include <gtest/gtest.h>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::Bytes;
using test::bytes_of;
using test::client_frame;
using test::OwnedEvent;

constexpr std::string_view request =
    "GET /room?x=1 HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: chat\r\n"
    "\r\n";

TEST(ConnectionIdleMemory, ReleasingBetweenMessagesLosesNothing) {
  Connection c = Connection::after_handshake(Role::server);
  const Bytes wire = test::concat({client_frame(Opcode::text, "one"),
                                   client_frame(Opcode::binary, std::string(3000, 'x')),
                                   client_frame(Opcode::ping, "p")});
  std::vector<OwnedEvent> events;
  for (std::size_t at = 0; at < wire.size(); at += 7) {
    c.release_idle_buffers();
    c.receive(ByteView(wire).subspan(at, std::min<std::size_t>(7, wire.size() - at)));
    c.release_idle_buffers();
    while (auto event = c.next_event()) events.push_back(test::own(*event));
  }
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].text(), "one");
  EXPECT_EQ(events[1].payload.size(), 3000U);
  EXPECT_EQ(events[2].type, OwnedEvent::Type::ping);
  c.release_idle_buffers();  // the pong is queued: it stays
  const auto frames = test::parse_frames(test::take_output(c));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::pong);
}

TEST(ConnectionIdleMemory, ReleasingKeepsAFragmentedMessageBeingJoined) {
  Connection c = Connection::after_handshake(Role::server);
  (void)test::feed(c, client_frame(Opcode::text, "hel", false));
  c.release_idle_buffers();
  const auto events = test::feed(c, client_frame(Opcode::continuation, "lo", true));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].text(), "hello");
}

TEST(ConnectionIdleMemory, ReleasingKeepsOutputNotYetWritten) {
  Connection c = Connection::after_handshake(Role::server);
  ASSERT_FALSE(c.send_text("pending"));
  c.consume_output(1);
  c.release_idle_buffers();
  const Bytes rest = test::take_output(c);
  EXPECT_EQ(test::text_of(ByteView(rest).subspan(1)), "pending");
  c.release_idle_buffers();
  ASSERT_FALSE(c.send_text("after"));
  EXPECT_EQ(test::parse_frames(test::take_output(c))[0].payload, bytes_of("after"));
}

TEST(ConnectionIdleMemory, ReleasingDuringTheHandshakeKeepsTheRequest) {
  Connection c = Connection::server();
  c.receive(bytes_of(request.substr(0, 30)));
  c.release_idle_buffers();
  EXPECT_EQ(c.next_event(), std::nullopt);
  c.receive(bytes_of(request.substr(30)));
  c.release_idle_buffers();
  auto event = c.next_event();
  ASSERT_TRUE(event && std::holds_alternative<UpgradeRequested>(*event));
}

TEST(ConnectionIdleMemory, ReleasedRequestLeavesTheAgreedSubprotocol) {
  Connection c = Connection::server();
  c.receive(bytes_of(request));
  ASSERT_TRUE(c.next_event().has_value());
  c.release_request();  // ignored: accept() still needs the request
  ASSERT_NE(c.request(), nullptr);
  AcceptOptions options;
  options.subprotocols = {"chat"};
  ASSERT_FALSE(c.accept(options));
  c.release_request();
  EXPECT_EQ(c.request(), nullptr);
  EXPECT_EQ(c.subprotocol(), "chat");
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].subprotocol, "chat");
}

}  // namespace
}  // namespace ws
