// The close handshake (RFC 6455 5.5.1, 7.1) from both sides, and what may
// be sent around it.
#include <gtest/gtest.h>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::bytes_of;
using test::client_frame;
using test::close_payload;
using test::concat;
using test::feed;
using test::OwnedEvent;
using test::parse_frames;
using test::take_output;

test::Bytes client_close(std::uint16_t code, std::string_view reason = {}) {
  test::FrameSpec spec;
  spec.opcode = Opcode::close;
  return test::frame(spec, close_payload(code, reason));
}

TEST(ConnectionClose, PeerCloseIsAnsweredWithTheSameCodeAndServerClosesTransport) {
  Connection c = Connection::after_handshake(Role::server);
  const auto events = feed(c, client_close(1001, "leaving"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::closed);
  EXPECT_EQ(events[0].code, CloseCode::going_away);
  EXPECT_EQ(events[0].text(), "leaving");
  EXPECT_FALSE(events[0].error);
  EXPECT_FALSE(c.should_close_transport());  // the reply is not written yet
  const auto frames = parse_frames(take_output(c));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::close);
  EXPECT_EQ(frames[0].payload, close_payload(1001));
  EXPECT_TRUE(c.should_close_transport());
}

TEST(ConnectionClose, EmptyCloseIsAnsweredWithAnEmptyClose) {
  Connection c = Connection::after_handshake(Role::server);
  test::FrameSpec spec;
  spec.opcode = Opcode::close;
  const auto events = feed(c, test::frame(spec, {}));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].code, CloseCode::no_status);
  const auto frames = parse_frames(take_output(c));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_TRUE(frames[0].payload.empty());
}

TEST(ConnectionClose, ClientInitiatedHandshakeWaitsForTheServerToEndTheStream) {
  Connection c = Connection::after_handshake(Role::client);
  ASSERT_FALSE(c.close(CloseCode::normal, "done"));
  EXPECT_EQ(c.state(), State::closing);
  const auto sent = parse_frames(take_output(c));
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].payload, close_payload(1000, "done"));
  const auto events = feed(c, test::server_frame(Opcode::close, "\x03\xe8"));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].code, CloseCode::normal);
  EXPECT_EQ(events[0].sent_code, CloseCode::normal);
  EXPECT_FALSE(events[0].error);
  EXPECT_EQ(c.state(), State::closed);
  EXPECT_EQ(c.pending_output_size(), 0U);  // no second close
  // RFC 6455 7.1.1: the server closes the TCP connection first.
  EXPECT_FALSE(c.should_close_transport());
  c.receive_eof();
  EXPECT_TRUE(c.should_close_transport());
  EXPECT_TRUE(test::drain(c).empty());
}

TEST(ConnectionClose, DataStillArrivesAfterThisSideSentClose) {
  Connection c = Connection::after_handshake(Role::server);
  ASSERT_FALSE(c.close());
  const auto events = feed(c, concat({client_frame(Opcode::text, "late"), client_close(1000)}));
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].text(), "late");
  EXPECT_EQ(events[1].type, OwnedEvent::Type::closed);
}

TEST(ConnectionClose, DataAfterThePeersCloseIsIgnored) {
  Connection c = Connection::after_handshake(Role::server);
  const auto events = feed(c, concat({client_close(1000), client_frame(Opcode::text, "ignored")}));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::closed);
}

TEST(ConnectionClose, NothingButTheCloseIsSentAfterClose) {
  Connection c = Connection::after_handshake(Role::server);
  ASSERT_FALSE(c.close());
  EXPECT_EQ(c.send_text("x"), errc::not_open);
  EXPECT_EQ(c.send_binary(bytes_of("x")), errc::not_open);
  EXPECT_EQ(c.ping(), errc::not_open);
  EXPECT_EQ(c.close(), errc::not_open);
  EXPECT_EQ(parse_frames(take_output(c)).size(), 1U);
  EXPECT_EQ(std::error_code(errc::not_open), condition::misuse);
}

TEST(ConnectionClose, CodesThatMayNotBeSentAreRefused) {
  Connection c = Connection::after_handshake(Role::server);
  for (unsigned code : {0U, 999U, 1004U, 1005U, 1006U, 1015U, 1016U, 2999U, 5000U}) {
    EXPECT_EQ(c.close(static_cast<std::uint16_t>(code)), errc::close_code_not_sendable) << code;
  }
  EXPECT_EQ(c.close(1000, std::string(124, 'r')), errc::close_reason_too_long);
  EXPECT_EQ(c.close(1000, "\xC0\xAF"), errc::close_reason_not_utf8);
  EXPECT_EQ(c.state(), State::open);
  EXPECT_EQ(c.pending_output_size(), 0U);
  EXPECT_FALSE(c.close(4999, std::string(123, 'r')));
}

TEST(ConnectionClose, InvalidClosePayloadsFailWith1002) {
  struct Case {
    test::Bytes payload;
    errc expected;
  };
  const std::vector<Case> cases = {
      {bytes_of({0x03}), errc::invalid_close_payload},
      {close_payload(1005), errc::invalid_close_code},
      {close_payload(1006), errc::invalid_close_code},
      {close_payload(1015), errc::invalid_close_code},
      {close_payload(2000), errc::invalid_close_code},
      {concat({close_payload(1000), bytes_of({0xFF})}), errc::invalid_close_reason},
  };
  for (const Case& c : cases) {
    Connection connection = Connection::after_handshake(Role::server);
    test::FrameSpec spec;
    spec.opcode = Opcode::close;
    const auto events = feed(connection, test::frame(spec, c.payload));
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].error, c.expected);
    EXPECT_EQ(events[0].sent_code, CloseCode::protocol_error);
    const auto frames = parse_frames(take_output(connection));
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].payload, close_payload(1002));
  }
}

TEST(ConnectionClose, EndOfStreamBeforeTheCloseHandshakeIsAbnormal) {
  Connection c = Connection::after_handshake(Role::client);
  c.receive_eof();
  const auto events = test::drain(c);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].code, CloseCode::abnormal);
  EXPECT_EQ(events[0].error, errc::unexpected_eof);
  EXPECT_EQ(std::error_code(errc::unexpected_eof), condition::transport_failure);
  EXPECT_TRUE(c.should_close_transport());
  EXPECT_TRUE(test::drain(c).empty());
}

TEST(ConnectionClose, ClosedIsTheLastEvent) {
  Connection c = Connection::after_handshake(Role::server);
  feed(c, client_close(1000));
  EXPECT_EQ(c.receive(client_frame(Opcode::text, "x")), 7U);
  EXPECT_TRUE(test::drain(c).empty());
}

}  // namespace
}  // namespace ws
