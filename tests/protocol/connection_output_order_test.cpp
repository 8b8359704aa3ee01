// The order of what a Connection writes: the opening handshake's response
// before any frame (RFC 6455 4.2.2), and prepared messages split like any
// other message when Config::auto_fragment_size asks for it (RFC 6455 5.4).
#include <gtest/gtest.h>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::Bytes;
using test::bytes_of;
using test::client_frame;
using test::concat;
using test::parse_frames;
using test::take_output;

constexpr std::string_view request =
    "GET /chat HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

// Splits the output into the HTTP head and the frames after it.
std::pair<std::string, Bytes> head_and_rest(const Bytes& output) {
  const std::string text = test::text_of(output);
  const std::size_t end = text.find("\r\n\r\n");
  if (end == std::string::npos) return {text, {}};
  return {text.substr(0, end + 4),
          Bytes(output.begin() + static_cast<std::ptrdiff_t>(end + 4), output.end())};
}

// RFC 6455 4.2.2: the server's first bytes are its handshake response; a
// pong answering a ping that came in the same read follows it.
TEST(ConnectionOutputOrder, ResponseGoesOutBeforeAPongToAPingInTheSameRead) {
  Connection c = Connection::server();
  c.receive(concat({bytes_of(request), client_frame(Opcode::ping, "early")}));
  auto event = c.next_event();
  ASSERT_TRUE(event && std::holds_alternative<UpgradeRequested>(*event));
  ASSERT_FALSE(c.accept());
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[1].type, test::OwnedEvent::Type::ping);
  const auto [head, rest] = head_and_rest(take_output(c));
  EXPECT_EQ(head.rfind("HTTP/1.1 101 ", 0), 0U) << head;
  const auto frames = parse_frames(rest);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::pong);
  EXPECT_EQ(frames[0].payload, bytes_of("early"));
}

TEST(ConnectionOutputOrder, ResponseGoesOutBeforeAPongWhenTheHeadWasReadElsewhere) {
  Result<Connection> made = Connection::accept_upgrade(request, client_frame(Opcode::ping, "p"));
  ASSERT_TRUE(made.has_value());
  Connection& c = *made;
  (void)test::drain(c);
  ASSERT_FALSE(c.ping(bytes_of("own")));  // an application ping too stays behind the head
  const auto [head, rest] = head_and_rest(take_output(c));
  EXPECT_EQ(head.rfind("HTTP/1.1 101 ", 0), 0U) << head;
  const auto frames = parse_frames(rest);
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::pong);
  EXPECT_EQ(frames[1].header.opcode, Opcode::ping);
}

TEST(ConnectionOutputOrder, PreparedMessagesAreFragmentedLikeAnyOther) {
  Config config;
  config.auto_fragment_size = 1000;
  Connection c = Connection::after_handshake(Role::server, config);
  const Bytes payload(2500, std::byte{'q'});
  ASSERT_FALSE(c.send_prepared(PreparedMessage::make(MessageKind::text, payload)));
  const auto frames = parse_frames(take_output(c));
  ASSERT_EQ(frames.size(), 3U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::text);
  EXPECT_FALSE(frames[0].header.fin);
  EXPECT_EQ(frames[0].payload.size(), 1000U);
  EXPECT_EQ(frames[1].header.opcode, Opcode::continuation);
  EXPECT_FALSE(frames[1].header.fin);
  EXPECT_EQ(frames[2].header.opcode, Opcode::continuation);
  EXPECT_TRUE(frames[2].header.fin);
  EXPECT_EQ(frames[2].payload.size(), 500U);
}

TEST(ConnectionOutputOrder, PreparedMessagesWithinTheFragmentSizeAreSharedAsTheyAre) {
  Config config;
  config.auto_fragment_size = 1000;
  Connection c = Connection::after_handshake(Role::server, config);
  const auto prepared = PreparedMessage::make(MessageKind::binary, Bytes(1000, std::byte{1}));
  ASSERT_FALSE(c.send_prepared(prepared));
  const auto buffers = c.pending_output();
  ASSERT_EQ(buffers.size(), 1U);
  EXPECT_EQ(buffers[0].data, prepared->frame().data());
}

TEST(ConnectionOutputOrder, FragmentedPreparedMessagesRespectTheOutputBound) {
  Config config;
  config.auto_fragment_size = 100;
  config.limits.max_queued_output = 1000;
  Connection c = Connection::after_handshake(Role::server, config);
  // 990 payload bytes fit as one frame (994 bytes) but not as ten (1010).
  EXPECT_EQ(c.send_prepared(PreparedMessage::make(MessageKind::binary, Bytes(990, std::byte{1}))),
            errc::output_queue_full);
  EXPECT_EQ(c.pending_output_size(), 0U);
}

TEST(ConnectionOutputOrder, FragmentedPreparedMessagesWaitForAStreamedMessage) {
  Config config;
  config.auto_fragment_size = 4;
  Connection c = Connection::after_handshake(Role::server, config);
  ASSERT_FALSE(c.send_text("open", Fin::no));
  EXPECT_EQ(c.send_prepared(PreparedMessage::make(MessageKind::text, bytes_of("too long"))),
            errc::message_in_progress);
}

}  // namespace
}  // namespace ws
