// RFC 6455 5.6 and 8.1: text must be UTF-8, and the connection fails (1007)
// as soon as it cannot be, even in the middle of a fragment.
#include <gtest/gtest.h>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::Bytes;
using test::bytes_of;
using test::concat;
using test::feed;
using test::FrameSpec;
using test::OwnedEvent;

Bytes text_frame(ByteView payload, Opcode opcode = Opcode::text, bool fin = true) {
  FrameSpec spec;
  spec.opcode = opcode;
  spec.fin = fin;
  return test::frame(spec, payload);
}

TEST(ConnectionUtf8, CodePointSplitAcrossFragmentsIsAccepted) {
  Connection c = Connection::after_handshake(Role::server);
  // U+20AC EURO SIGN is E2 82 AC; cut it after each byte.
  const Bytes euro = bytes_of({0xE2, 0x82, 0xAC});
  for (std::size_t cut = 0; cut <= euro.size(); ++cut) {
    const auto events =
        feed(c, concat({text_frame(ByteView(euro).first(cut), Opcode::text, false),
                        text_frame(ByteView(euro).subspan(cut), Opcode::continuation, true)}));
    ASSERT_EQ(events.size(), 1U) << cut;
    EXPECT_EQ(events[0].payload, euro) << cut;
  }
}

TEST(ConnectionUtf8, FailsAtTheInvalidByteBeforeTheFragmentEnds) {
  Connection c = Connection::after_handshake(Role::server);
  // A 1000-byte fragment whose 5th byte is invalid: only its first 10 bytes
  // have arrived, and the connection must already have failed.
  Bytes payload(1000, std::byte{'a'});
  payload[4] = std::byte{0xFF};
  const Bytes wire = text_frame(payload, Opcode::text, false);
  const auto events = feed(c, ByteView(wire).first(8 + 10));  // 8-byte header
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::closed);
  EXPECT_EQ(events[0].error, errc::invalid_utf8);
  EXPECT_EQ(events[0].sent_code, CloseCode::invalid_payload);
  const auto frames = test::parse_frames(test::take_output(c));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].payload, test::close_payload(1007));
}

TEST(ConnectionUtf8, TruncatedCodePointAtMessageEndFails) {
  Connection c = Connection::after_handshake(Role::server);
  const auto events = feed(c, text_frame(bytes_of({'o', 'k', 0xE2, 0x82})));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].error, errc::invalid_utf8);
}

TEST(ConnectionUtf8, InvalidSequencesFailWith1007) {
  const std::vector<Bytes> invalid = {
      bytes_of({0xC0, 0xAF}),              // overlong '/'
      bytes_of({0xE0, 0x80, 0xAF}),        // overlong, 3 bytes
      bytes_of({0xED, 0xA0, 0x80}),        // surrogate U+D800
      bytes_of({0xF4, 0x90, 0x80, 0x80}),  // above U+10FFFF
      bytes_of({0x80}),                    // bare continuation
      bytes_of({0xFE}),
  };
  for (const Bytes& bad : invalid) {
    Connection c = Connection::after_handshake(Role::server);
    const auto events = feed(c, text_frame(concat({bytes_of("ok "), bad, bytes_of(" ok")})));
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].error, errc::invalid_utf8);
  }
}

TEST(ConnectionUtf8, BinaryMessagesAreNotChecked) {
  Connection c = Connection::after_handshake(Role::server);
  FrameSpec spec;
  spec.opcode = Opcode::binary;
  const auto events = feed(c, test::frame(spec, bytes_of({0xFF, 0xFE, 0xC0})));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::message);
}

TEST(ConnectionUtf8, StreamedTextFailsInTheMiddleOfAMessage) {
  Config config;
  config.delivery = Delivery::streamed;
  Connection c = Connection::after_handshake(Role::server, config);
  const auto events = feed(c, concat({text_frame(bytes_of("good"), Opcode::text, false),
                                      text_frame(bytes_of({0xC0}), Opcode::continuation, false)}));
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].text(), "good");
  EXPECT_EQ(events[1].error, errc::invalid_utf8);
}

}  // namespace
}  // namespace ws
