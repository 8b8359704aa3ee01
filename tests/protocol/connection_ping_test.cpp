// Ping and pong (RFC 6455 5.5.2, 5.5.3).
#include <gtest/gtest.h>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::bytes_of;
using test::client_frame;
using test::feed;
using test::OwnedEvent;
using test::parse_frames;
using test::take_output;

TEST(ConnectionPing, PingIsAnsweredWithAPongCarryingTheSamePayload) {
  Connection c = Connection::after_handshake(Role::server);
  const std::string payload(125, 'p');
  const auto events = feed(c, client_frame(Opcode::ping, payload));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::ping);
  EXPECT_EQ(events[0].text(), payload);
  const auto frames = parse_frames(take_output(c));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::pong);
  EXPECT_EQ(test::text_of(frames[0].payload), payload);
}

TEST(ConnectionPing, TenPingsAreAnsweredInOrder) {
  Connection c = Connection::after_handshake(Role::server);
  test::Bytes wire;
  for (int i = 0; i < 10; ++i) {
    const auto frame = client_frame(Opcode::ping, std::to_string(i));
    wire.insert(wire.end(), frame.begin(), frame.end());
  }
  EXPECT_EQ(feed(c, wire).size(), 10U);
  const auto frames = parse_frames(take_output(c));
  ASSERT_EQ(frames.size(), 10U);
  for (std::size_t i = 0; i < 10; ++i)
    EXPECT_EQ(test::text_of(frames[i].payload), std::to_string(i));
}

TEST(ConnectionPing, AutomaticPongCanBeTurnedOff) {
  Config config;
  config.auto_pong = false;
  Connection c = Connection::after_handshake(Role::server, config);
  EXPECT_EQ(feed(c, client_frame(Opcode::ping, "x")).size(), 1U);
  EXPECT_EQ(c.pending_output_size(), 0U);
  ASSERT_FALSE(c.pong(bytes_of("x")));
  EXPECT_EQ(parse_frames(take_output(c)).size(), 1U);
}

TEST(ConnectionPing, UnsolicitedPongIsFine) {
  Connection c = Connection::after_handshake(Role::client);
  const auto events = feed(c, test::server_frame(Opcode::pong, "beat"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::pong);
  EXPECT_EQ(c.state(), State::open);
}

TEST(ConnectionPing, BinaryPingPayloadIsEchoedExactly) {
  Connection c = Connection::after_handshake(Role::server);
  test::FrameSpec spec;
  spec.opcode = Opcode::ping;
  const auto payload = bytes_of({0x00, 0xFF, 0xFE, 0x80});
  feed(c, test::frame(spec, payload));
  const auto frames = parse_frames(take_output(c));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].payload, payload);
}

TEST(ConnectionPing, PingOf126BytesFailsTheConnection) {
  Connection c = Connection::after_handshake(Role::server);
  const auto events = feed(c, client_frame(Opcode::ping, std::string(126, 'p')));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::control_frame_too_long);
}

TEST(ConnectionPing, NoPongAfterThisSideSentClose) {
  Connection c = Connection::after_handshake(Role::server);
  ASSERT_FALSE(c.close());
  take_output(c);
  EXPECT_EQ(feed(c, client_frame(Opcode::ping, "x")).size(), 1U);
  EXPECT_EQ(c.pending_output_size(), 0U);
}

}  // namespace
}  // namespace ws
