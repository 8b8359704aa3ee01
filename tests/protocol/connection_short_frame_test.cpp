// Short whole messages (at most 125 bytes, one frame, in the input buffer)
// take a fast path in the receive code. Every rule of the general path must
// hold there too: reserved bits and opcodes (RFC 6455 5.2), masking by role
// (5.1), the size limits (7.4.1, 1009) and UTF-8 for text (8.1). Fed a byte
// at a time, the same frames take the general path: both must agree.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::Bytes;
using test::bytes_of;
using test::OwnedEvent;

std::vector<OwnedEvent> feed_whole(Connection& c, const Bytes& wire) { return test::feed(c, wire); }

std::vector<OwnedEvent> feed_bytewise(Connection& c, const Bytes& wire) {
  std::vector<OwnedEvent> events;
  for (std::byte b : wire) {
    c.receive(ByteView(&b, 1));
    auto more = test::drain(c);
    events.insert(events.end(), more.begin(), more.end());
  }
  return events;
}

Bytes raw_frame(unsigned first, bool masked, ByteView payload) {
  test::FrameSpec spec;
  spec.opcode = static_cast<Opcode>(first & 0x0FU);
  spec.fin = (first & 0x80U) != 0;
  spec.reserved_bits = static_cast<std::uint8_t>((first >> 4) & 0x7U);
  if (!masked) spec.mask.reset();
  return test::frame(spec, payload);
}

TEST(ConnectionShortFrame, ShortTextWithMultibyteUtf8IsDelivered) {
  Connection c = Connection::after_handshake(Role::server);
  const auto events = feed_whole(c, test::client_frame(Opcode::text, "h\xC3\xA9llo \xE2\x82\xAC"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].text(), "h\xC3\xA9llo \xE2\x82\xAC");
}

// RFC 6455 8.1: invalid UTF-8 in a text message fails the connection (1007).
TEST(ConnectionShortFrame, ShortTextWithInvalidUtf8Fails1007) {
  Connection c = Connection::after_handshake(Role::server);
  const auto events = feed_whole(c, test::client_frame(Opcode::text, "ok \xC0\xAF"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::invalid_utf8);
  EXPECT_EQ(events[0].sent_code, CloseCode::invalid_payload);
}

TEST(ConnectionShortFrame, ShortBinaryWithHighBytesIsNotValidated) {
  Connection c = Connection::after_handshake(Role::server);
  const auto events = feed_whole(c, test::client_frame(Opcode::binary, "\xFF\xFE\xC0"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].payload, bytes_of({0xFF, 0xFE, 0xC0}));
}

// RFC 6455 5.2: a reserved bit with no extension to define it is 1002.
TEST(ConnectionShortFrame, ShortFrameWithAReservedBitFails) {
  Connection c = Connection::after_handshake(Role::server);
  const auto events = feed_whole(c, raw_frame(0xC2U, true, bytes_of("x")));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::reserved_bits_set);
}

// RFC 6455 7.4.1: the frame limit holds however short the frame.
TEST(ConnectionShortFrame, ShortFrameOverTheFrameLimitFails1009) {
  Config config;
  config.limits.max_frame_size = 4;
  Connection c = Connection::after_handshake(Role::server, config);
  const auto events = feed_whole(c, test::client_frame(Opcode::binary, "12345"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].sent_code, CloseCode::message_too_big);
}

TEST(ConnectionShortFrame, ShortMessageOverTheMessageLimitFails1009) {
  Config config;
  config.limits.max_message_size = 4;
  Connection c = Connection::after_handshake(Role::client, config);
  const auto events = feed_whole(c, test::server_frame(Opcode::text, "12345"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].sent_code, CloseCode::message_too_big);
}

// RFC 6455 5.4: a whole short message cannot start inside an open one.
TEST(ConnectionShortFrame, ShortMessageInsideAFragmentedOneFails) {
  Connection c = Connection::after_handshake(Role::server);
  const auto events = feed_whole(c, test::concat({test::client_frame(Opcode::text, "a", false),
                                                  test::client_frame(Opcode::binary, "b")}));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::message_not_finished);
}

// Any header byte, either mask bit, any short payload: the events match
// those of the general path.
RC_GTEST_PROP(ConnectionShortFrame, FastAndGeneralPathsAgree, ()) {
  const Role role = *rc::gen::element(Role::server, Role::client);
  const int count = *rc::gen::inRange(1, 6);
  Bytes wire;
  for (int i = 0; i < count; ++i) {
    const unsigned first = *rc::gen::oneOf(rc::gen::element(0x81U, 0x82U, 0x01U, 0x80U, 0x89U),
                                           rc::gen::inRange(0U, 256U));
    const bool masked =
        *rc::gen::weightedElement<bool>({{9, role == Role::server}, {1, role != Role::server}});
    const auto payload = *rc::gen::oneOf(
        rc::gen::container<std::string>(rc::gen::inRange<char>(0x20, 0x7F)),
        rc::gen::container<std::string>(rc::gen::elementOf(std::string("a\xC3\xA9\xE2\x82\xAC"))),
        rc::gen::arbitrary<std::string>());
    const std::string cut = payload.substr(0, std::min<std::size_t>(payload.size(), 125));
    const Bytes frame = raw_frame(first, masked, as_bytes(std::string_view(cut)));
    wire.insert(wire.end(), frame.begin(), frame.end());
  }
  Config config;
  config.limits.max_frame_size = *rc::gen::inRange<std::uint64_t>(0, 200);
  // Same masking keys on both sides, so their output can be compared.
  config.random = test::counting_random_source();
  Connection fast = Connection::after_handshake(role, config);
  config.random = test::counting_random_source();
  Connection general = Connection::after_handshake(role, config);
  RC_ASSERT(feed_whole(fast, wire) == feed_bytewise(general, wire));
  RC_ASSERT(test::take_output(fast) == test::take_output(general));
}

}  // namespace
}  // namespace ws
