// Receiving: frames become messages (RFC 6455 5.4, 5.6, 6.2).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::bytes_of;
using test::client_frame;
using test::concat;
using test::feed;
using test::OwnedEvent;
using test::server_frame;

Connection server(Config config = {}) { return Connection::after_handshake(Role::server, config); }
Connection client(Config config = {}) { return Connection::after_handshake(Role::client, config); }

// RFC 6455 5.7 examples as received by a Connection.
TEST(ConnectionReceive, ClientReceivesRfcUnmaskedHello) {
  Connection c = client();
  const auto events = feed(c, bytes_of({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].kind, MessageKind::text);
  EXPECT_EQ(events[0].text(), "Hello");
}

TEST(ConnectionReceive, ServerReceivesRfcMaskedHello) {
  Connection c = server();
  const auto events =
      feed(c, bytes_of({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].text(), "Hello");
}

TEST(ConnectionReceive, ClientJoinsRfcFragmentedHello) {
  Connection c = client();
  const auto events = feed(c, bytes_of({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f}));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].text(), "Hello");
  EXPECT_TRUE(events[0].is_first && events[0].is_last);
}

TEST(ConnectionReceive, DeliversEveryLengthForm) {
  for (std::size_t length : {0UL, 1UL, 125UL, 126UL, 127UL, 128UL, 65535UL, 65536UL, 300000UL}) {
    Connection c = server();
    const std::string payload(length, 'x');
    const auto events = feed(c, client_frame(Opcode::binary, payload));
    ASSERT_EQ(events.size(), 1U) << length;
    EXPECT_EQ(events[0].kind, MessageKind::binary);
    EXPECT_EQ(events[0].payload.size(), length);
  }
}

TEST(ConnectionReceive, WholeMessageInTheBufferIsHandedOutWithoutACopy) {
  Connection c = server();
  const auto wire = client_frame(Opcode::binary, "zero-copy");
  MutableByteView space = c.receive_buffer();
  ASSERT_GE(space.size(), wire.size());
  std::copy(wire.begin(), wire.end(), space.begin());
  c.commit_received(wire.size());
  const auto event = c.next_event();
  ASSERT_TRUE(event.has_value());
  const auto& message = std::get<Message>(*event);
  EXPECT_EQ(as_text(message.payload), "zero-copy");
  // The payload was unmasked in place, right behind the header in the buffer
  // the read went into.
  EXPECT_EQ(message.payload.data(), space.data() + (wire.size() - message.payload.size()));
  EXPECT_EQ(c.next_event(), std::nullopt);
}

// RFC 6455 5.4: control frames may be injected in the middle of a fragmented message.
TEST(ConnectionReceive, ControlFramesBetweenFragmentsArriveBeforeTheMessage) {
  Connection c = server();
  const auto events = feed(
      c, concat({client_frame(Opcode::text, "fr", false), client_frame(Opcode::ping, "p1"),
                 client_frame(Opcode::continuation, "ag", false), client_frame(Opcode::pong, "p2"),
                 client_frame(Opcode::continuation, "ment", true)}));
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::ping);
  EXPECT_EQ(events[1].type, OwnedEvent::Type::pong);
  EXPECT_EQ(events[2].text(), "fragment");
}

TEST(ConnectionReceive, EmptyFragmentsMakeAnEmptyOrPartialMessage) {
  Connection c = server();
  const auto events = feed(c, concat({client_frame(Opcode::binary, "", false),
                                      client_frame(Opcode::continuation, "", false),
                                      client_frame(Opcode::continuation, "", true),
                                      client_frame(Opcode::text, "", true)}));
  ASSERT_EQ(events.size(), 2U);
  EXPECT_TRUE(events[0].payload.empty());
  EXPECT_EQ(events[1].kind, MessageKind::text);
}

TEST(ConnectionReceive, StreamedDeliveryHandsOutPiecesAsTheyArrive) {
  Config config;
  config.delivery = Delivery::streamed;
  Connection c = server(config);
  const auto wire = concat({client_frame(Opcode::text, "abc", false),
                            client_frame(Opcode::continuation, "defgh", true)});
  std::vector<OwnedEvent> events;
  // First fragment whole, second in two reads.
  const std::size_t second_start = wire.size() - 11;  // 6-byte header + 5 payload
  for (auto piece : {ByteView(wire).first(second_start), ByteView(wire).subspan(second_start, 8),
                     ByteView(wire).subspan(second_start + 8)}) {
    auto more = feed(c, piece);
    events.insert(events.end(), more.begin(), more.end());
  }
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].text(), "abc");
  EXPECT_TRUE(events[0].is_first);
  EXPECT_FALSE(events[0].is_last);
  EXPECT_EQ(events[1].text(), "de");
  EXPECT_FALSE(events[1].is_first);
  EXPECT_FALSE(events[1].is_last);
  EXPECT_EQ(events[2].text(), "fgh");
  EXPECT_TRUE(events[2].is_last);
}

TEST(ConnectionReceive, ReceiveBufferTakesBytesReadStraightIntoIt) {
  Connection c = server();
  const auto wire = client_frame(Opcode::text, "direct");
  MutableByteView space = c.receive_buffer();
  ASSERT_GE(space.size(), wire.size());
  std::copy(wire.begin(), wire.end(), space.begin());
  c.commit_received(wire.size());
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].text(), "direct");
}

// RFC 6455 5.2 and 7.1.7: reserved bits, reserved opcodes and bad masking
// fail the connection with 1002.
TEST(ConnectionReceive, ProtocolViolationFailsWith1002AndDropsWhatFollows) {
  Connection c = server();
  test::FrameSpec bad;
  bad.opcode = Opcode::text;
  bad.reserved_bits = rsv1;
  const auto events =
      feed(c, concat({client_frame(Opcode::text, "before"), test::frame(bad, as_bytes("bad")),
                      client_frame(Opcode::text, "after")}));
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].text(), "before");
  EXPECT_EQ(events[1].type, OwnedEvent::Type::closed);
  EXPECT_EQ(events[1].error, errc::reserved_bits_set);
  EXPECT_EQ(events[1].sent_code, CloseCode::protocol_error);
  const auto frames = test::parse_frames(test::take_output(c));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::close);
  EXPECT_EQ(frames[0].payload, test::close_payload(1002));
  EXPECT_EQ(c.state(), State::closed);
  EXPECT_TRUE(c.should_close_transport());
}

TEST(ConnectionReceive, ServerRejectsUnmaskedFrameFromClient) {
  Connection c = server();
  const auto events = feed(c, server_frame(Opcode::text, "plain"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::mask_required);
}

TEST(ConnectionReceive, ClientRejectsMaskedFrameFromServer) {
  Connection c = client();
  const auto events = feed(c, client_frame(Opcode::text, "masked"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::mask_forbidden);
}

TEST(ConnectionReceive, NewMessageInsideAnOpenOneFails) {
  Connection c = server();
  const auto events =
      feed(c, concat({client_frame(Opcode::text, "a", false), client_frame(Opcode::binary, "b")}));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::message_not_finished);
}

TEST(ConnectionReceive, ContinuationWithoutAMessageFails) {
  Connection c = server();
  const auto events = feed(c, client_frame(Opcode::continuation, "x"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::unexpected_continuation);
}

TEST(ConnectionReceive, EndOfStreamMidFrameIsAbnormal) {
  Connection c = server();
  const auto wire = client_frame(Opcode::binary, "truncated");
  c.receive(ByteView(wire).first(5));
  EXPECT_TRUE(test::drain(c).empty());
  c.receive_eof();
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].code, CloseCode::abnormal);
  EXPECT_EQ(events[0].error, errc::unexpected_eof);
  EXPECT_TRUE(c.should_close_transport());
  EXPECT_EQ(c.pending_output_size(), 0U);  // nobody left to send a close to
}

}  // namespace
}  // namespace ws
