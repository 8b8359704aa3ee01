// Sending: framing, masking by role (RFC 6455 5.1, 5.3), fragmentation,
// scatter-gather output and its bound.
#include <gtest/gtest.h>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::Bytes;
using test::bytes_of;
using test::parse_frames;
using test::take_output;

TEST(ConnectionSend, ServerNeverMasks) {
  Connection c = Connection::after_handshake(Role::server);
  ASSERT_FALSE(c.send_text("Hello"));
  // RFC 6455 5.7: a single-frame unmasked text message.
  EXPECT_EQ(take_output(c), bytes_of({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
}

TEST(ConnectionSend, ClientMasksWithTheKeyFromItsRandomSource) {
  Config config;
  config.random = [](MutableByteView out) {
    const std::byte key[] = {std::byte{0x37}, std::byte{0xfa}, std::byte{0x21}, std::byte{0x3d}};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = key[i % 4];
  };
  Connection c = Connection::after_handshake(Role::client, config);
  ASSERT_FALSE(c.send_text("Hello"));
  // RFC 6455 5.7: a single-frame masked text message.
  EXPECT_EQ(take_output(c),
            bytes_of({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

TEST(ConnectionSend, ClientUsesAFreshKeyForEveryFrame) {
  Config config;
  config.random = test::counting_random_source();
  Connection c = Connection::after_handshake(Role::client, config);
  ASSERT_FALSE(c.send_binary(bytes_of("one")));
  ASSERT_FALSE(c.send_binary(bytes_of("two")));
  const auto frames = parse_frames(take_output(c));
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_TRUE(frames[0].header.masked && frames[1].header.masked);
  EXPECT_NE(frames[0].header.mask_key, frames[1].header.mask_key);
  EXPECT_EQ(test::text_of(frames[0].payload), "one");
  EXPECT_EQ(test::text_of(frames[1].payload), "two");
}

TEST(ConnectionSend, StreamedMessageUsesContinuationFrames) {
  Connection c = Connection::after_handshake(Role::server);
  ASSERT_FALSE(c.send_text("He", Fin::no));
  ASSERT_FALSE(c.send_text("l", Fin::no));
  ASSERT_FALSE(c.send_text("lo", Fin::yes));
  const auto frames = parse_frames(take_output(c));
  ASSERT_EQ(frames.size(), 3U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::text);
  EXPECT_FALSE(frames[0].header.fin);
  EXPECT_EQ(frames[1].header.opcode, Opcode::continuation);
  EXPECT_FALSE(frames[1].header.fin);
  EXPECT_EQ(frames[2].header.opcode, Opcode::continuation);
  EXPECT_TRUE(frames[2].header.fin);
}

TEST(ConnectionSend, StreamedMessageOfTheOtherKindIsRefused) {
  Connection c = Connection::after_handshake(Role::server);
  ASSERT_FALSE(c.send_text("a", Fin::no));
  EXPECT_EQ(c.send_binary(bytes_of("b")), errc::message_in_progress);
  EXPECT_EQ(c.send_prepared(PreparedMessage::make(MessageKind::text, bytes_of("c"))),
            errc::message_in_progress);
}

TEST(ConnectionSend, AutomaticFragmentationLetsPingsGoBetweenFragments) {
  Config config;
  config.auto_fragment_size = 1000;
  Connection c = Connection::after_handshake(Role::server, config);
  const Bytes big(3500, std::byte{'z'});
  ASSERT_FALSE(c.send_binary(big));
  // The first fragment starts going out; a ping queued now overtakes the
  // fragments not yet started, but not the one on the wire.
  c.consume_output(10);
  ASSERT_FALSE(c.ping(bytes_of("p")));
  const Bytes rest = take_output(c);
  // The first fragment (4-byte header + 1000 bytes) was 10 bytes out: its
  // remaining 994 bytes come first.
  const auto frames = parse_frames(ByteView(rest).subspan(1004 - 10));
  ASSERT_EQ(frames.size(), 4U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::ping);
  EXPECT_EQ(frames[1].header.opcode, Opcode::continuation);
  EXPECT_EQ(frames[3].header.opcode, Opcode::continuation);
  EXPECT_TRUE(frames[3].header.fin);
  EXPECT_EQ(frames[3].payload.size(), 500U);
}

TEST(ConnectionSend, OutputIsHandedOutAsScatterGatherWithoutCopyingPreparedFrames) {
  Connection c = Connection::after_handshake(Role::server);
  const auto prepared = PreparedMessage::make(MessageKind::binary, Bytes(70000, std::byte{1}));
  ASSERT_FALSE(c.send_text("a"));
  ASSERT_FALSE(c.send_prepared(prepared));
  ASSERT_FALSE(c.send_text("b"));
  const auto buffers = c.pending_output();
  ASSERT_EQ(buffers.size(), 3U);
  EXPECT_EQ(buffers[1].data, prepared->frame().data());
  EXPECT_EQ(buffers[1].size, prepared->frame().size());
  EXPECT_EQ(c.pending_output_size(), 3U + prepared->frame().size() + 3U);
}

TEST(ConnectionSend, ConsecutiveSmallFramesAreOneBuffer) {
  Connection c = Connection::after_handshake(Role::server);
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(c.send_text("x"));
  EXPECT_EQ(c.pending_output().size(), 1U);
  EXPECT_EQ(c.pending_output_size(), 30U);
}

TEST(ConnectionSend, PartialConsumeKeepsTheRestInOrder) {
  Connection c = Connection::after_handshake(Role::server);
  ASSERT_FALSE(c.send_text("first"));
  ASSERT_FALSE(c.send_prepared(PreparedMessage::make(MessageKind::text, bytes_of("second"))));
  ASSERT_FALSE(c.send_text("third"));
  Bytes all;
  while (c.pending_output_size() > 0) {
    const OutputBuffer first = c.pending_output().front();
    all.push_back(*first.data);
    c.consume_output(1);
  }
  const auto frames = parse_frames(all);
  ASSERT_EQ(frames.size(), 3U);
  EXPECT_EQ(test::text_of(frames[1].payload), "second");
  EXPECT_EQ(test::text_of(frames[2].payload), "third");
}

TEST(ConnectionSend, ClientCannotSendPreparedFrames) {
  Connection c = Connection::after_handshake(Role::client);
  EXPECT_EQ(c.send_prepared(PreparedMessage::make(MessageKind::text, bytes_of("x"))),
            errc::wrong_role);
}

TEST(ConnectionSend, ControlPayloadOver125BytesIsMisuseAndChangesNothing) {
  Connection c = Connection::after_handshake(Role::server);
  EXPECT_EQ(c.ping(Bytes(126, std::byte{0})), errc::control_payload_too_long);
  EXPECT_EQ(c.pong(Bytes(126, std::byte{0})), errc::control_payload_too_long);
  EXPECT_EQ(c.pending_output_size(), 0U);
  EXPECT_EQ(c.state(), State::open);
  EXPECT_FALSE(c.ping(Bytes(125, std::byte{0})));
}

TEST(ConnectionSend, FullOutputQueueRefusesAndQueuesNothing) {
  Config config;
  config.limits.max_queued_output = 1000;
  Connection c = Connection::after_handshake(Role::server, config);
  ASSERT_FALSE(c.send_binary(Bytes(900, std::byte{0})));
  const std::size_t before = c.pending_output_size();
  EXPECT_EQ(c.send_binary(Bytes(200, std::byte{0})), errc::output_queue_full);
  EXPECT_EQ(c.pending_output_size(), before);
  EXPECT_EQ(std::error_code(errc::output_queue_full), condition::misuse);
}

}  // namespace
}  // namespace ws
