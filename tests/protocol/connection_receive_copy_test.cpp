// receive() with large data frames: while nothing is buffered, a frame of
// 4 KiB or more has its payload copied from the caller's bytes straight into
// the message, unmasked on the way (RFC 6455 5.3). The rules of the parser
// still hold: UTF-8 fails fast (8.1), control frames between fragments come
// out in order (5.4), and one call takes no more than max_buffered_input.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::Bytes;
using test::client_frame;
using test::OwnedEvent;

TEST(ConnectionReceiveCopy, ALargeFrameArrivingInPiecesIsDeliveredWhole) {
  Connection c = Connection::after_handshake(Role::server);
  std::string payload(64 * 1024, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  const Bytes wire = client_frame(Opcode::binary, payload);
  const ByteView all(wire);
  // Cut inside the header, inside the payload, and at the end.
  EXPECT_EQ(c.receive(all.first(5)), 5U);
  EXPECT_EQ(c.next_event(), std::nullopt);
  EXPECT_EQ(c.receive(all.subspan(5, 30000)), 30000U);
  EXPECT_EQ(c.next_event(), std::nullopt);
  EXPECT_EQ(c.receive(all.subspan(30005)), wire.size() - 30005);
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].text(), payload);
}

TEST(ConnectionReceiveCopy, FramesAfterALargeOneInTheSameCallFollowIt) {
  Connection c = Connection::after_handshake(Role::server);
  const std::string big(10000, 'b');
  const Bytes wire =
      test::concat({client_frame(Opcode::binary, big), client_frame(Opcode::text, "after"),
                    client_frame(Opcode::binary, big)});
  EXPECT_EQ(c.receive(wire), wire.size());
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].text(), big);
  EXPECT_EQ(events[1].text(), "after");
  EXPECT_EQ(events[2].text(), big);
}

// A finished large message is parked while the next is joined: each is
// delivered whole and in order, before what follows it.
TEST(ConnectionReceiveCopy, BackToBackLargeMessagesComeOutInOrder) {
  const std::string a(20000, 'a');
  const std::string b(30000, 'b');
  const std::string d(5000, 'd');
  const Bytes wire =
      test::concat({client_frame(Opcode::binary, a), client_frame(Opcode::text, b),
                    client_frame(Opcode::binary, d), client_frame(Opcode::ping, "")});
  for (const std::size_t piece : {std::size_t{24000}, std::size_t{65536}, std::size_t{7}}) {
    Connection fresh = Connection::after_handshake(Role::server);
    ByteView rest(wire);
    std::vector<OwnedEvent> events;
    while (!rest.empty()) {
      const std::size_t taken = fresh.receive(rest.first(std::min(rest.size(), piece)));
      EXPECT_LE(taken, fresh.config().limits.max_buffered_input);
      rest = rest.subspan(taken);
      for (const OwnedEvent& e : test::drain(fresh)) events.push_back(e);
    }
    ASSERT_EQ(events.size(), 4U) << piece;
    EXPECT_EQ(events[0].text(), a);
    EXPECT_EQ(events[1].text(), b);
    EXPECT_EQ(events[1].kind, MessageKind::text);
    EXPECT_EQ(events[2].text(), d);
    EXPECT_EQ(events[3].type, OwnedEvent::Type::ping);
  }
}

// RFC 6455 5.4: a control frame between fragments is delivered at once; the
// fragments join into one message.
TEST(ConnectionReceiveCopy, APingBetweenLargeFragmentsComesFirst) {
  Connection c = Connection::after_handshake(Role::server);
  const Bytes wire = test::concat({client_frame(Opcode::text, std::string(9000, 'a'), false),
                                   client_frame(Opcode::ping, "p"),
                                   client_frame(Opcode::continuation, std::string(7000, 'z'))});
  EXPECT_EQ(c.receive(wire), wire.size());
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::ping);
  EXPECT_EQ(events[1].text(), std::string(9000, 'a') + std::string(7000, 'z'));
}

// RFC 6455 8.1: the connection fails (1007) as soon as the invalid byte
// has arrived, not when the frame ends.
TEST(ConnectionReceiveCopy, InvalidUtf8FailsBeforeTheFrameEnds) {
  Connection c = Connection::after_handshake(Role::server);
  std::string payload(20000, 'a');
  payload[5000] = '\xC0';
  const Bytes wire = client_frame(Opcode::text, payload);
  EXPECT_EQ(c.receive(ByteView(wire).first(6000)), 6000U);
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::closed);
  EXPECT_EQ(events[0].error, errc::invalid_utf8);
  EXPECT_EQ(events[0].sent_code, CloseCode::invalid_payload);
}

// RFC 6455 7.4.1: a large frame over the limit is refused at its header.
TEST(ConnectionReceiveCopy, AFrameOverTheMessageLimitIsRefusedAtItsHeader) {
  Config config;
  config.limits.max_message_size = 5000;
  Connection c = Connection::after_handshake(Role::server, config);
  const Bytes wire = client_frame(Opcode::binary, std::string(6000, 'x'));
  c.receive(ByteView(wire).first(100));
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::message_too_large);
  EXPECT_EQ(events[0].sent_code, CloseCode::message_too_big);
}

// Bytes copied into the message count against max_buffered_input until
// next_event() runs: one call never takes more than the limit.
TEST(ConnectionReceiveCopy, OneCallTakesAtMostTheInputLimit) {
  Config config;
  config.limits.max_buffered_input = 4096;
  Connection c = Connection::after_handshake(Role::server, config);
  const std::string payload(50000, 'q');
  const Bytes wire = client_frame(Opcode::binary, payload);
  ByteView rest(wire);
  std::vector<OwnedEvent> events;
  while (!rest.empty()) {
    const std::size_t taken = c.receive(rest);
    EXPECT_GT(taken, 0U);
    EXPECT_LE(taken, 4096U);
    EXPECT_EQ(c.receive(rest.subspan(taken)), 0U);  // nothing more until next_event()
    rest = rest.subspan(taken);
    for (const OwnedEvent& e : test::drain(c)) events.push_back(e);
  }
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].text(), payload);
}

}  // namespace
}  // namespace ws
