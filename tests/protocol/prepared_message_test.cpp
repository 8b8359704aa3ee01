// PreparedMessage (the message layer): one unmasked, unfragmented frame,
// and its payload() and reserved_bits() read back from that frame.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <string>

#include "support/frames.hpp"
#include "ws/frame/frame_header.hpp"
#include "ws/message/prepared_message.hpp"

namespace ws {
namespace {

using test::Bytes;
using test::bytes_of;
using test::parse_frames;
using test::text_of;

TEST(PreparedMessage, IsOneUnmaskedFinalFrameOfItsKind) {
  const auto message = PreparedMessage::make(MessageKind::text, bytes_of("hello"));
  EXPECT_EQ(Bytes(message->frame().begin(), message->frame().end()),
            bytes_of({0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}));
  EXPECT_EQ(message->kind(), MessageKind::text);
  EXPECT_EQ(message->payload_size(), 5U);
  EXPECT_EQ(text_of(message->payload()), "hello");
  EXPECT_EQ(message->reserved_bits(), rsv_none);
}

TEST(PreparedMessage, PayloadIsTheTailOfTheFrameNotACopy) {
  // 70000 bytes take the 8-byte length form: a 10-byte header.
  const auto message = PreparedMessage::make(MessageKind::binary, Bytes(70000, std::byte{7}));
  ASSERT_EQ(message->frame().size(), 10U + 70000U);
  EXPECT_EQ(message->payload().data(), message->frame().data() + 10);
  EXPECT_EQ(message->payload().size(), 70000U);
}

TEST(PreparedMessage, EmptyPayloadIsEmptyAndFrameIsTheHeader) {
  const auto message = PreparedMessage::make(MessageKind::binary, {});
  EXPECT_EQ(Bytes(message->frame().begin(), message->frame().end()), bytes_of({0x82, 0x00}));
  EXPECT_TRUE(message->payload().empty());
  EXPECT_EQ(message->reserved_bits(), rsv_none);
}

TEST(PreparedMessage, EncodedVariantCarriesItsReservedBitsAndEncodedPayload) {
  const auto message = PreparedMessage::make_with_encoding(
      MessageKind::text, bytes_of("plain"), "permessage-deflate", rsv1, bytes_of({1, 2, 3}));
  EXPECT_EQ(message->reserved_bits(), rsv_none);
  EXPECT_EQ(text_of(message->payload()), "plain");
  ASSERT_NE(message->encoded(), nullptr);
  const PreparedMessage& encoded = *message->encoded();
  EXPECT_EQ(encoded.reserved_bits(), rsv1);
  EXPECT_EQ(std::to_integer<unsigned>(encoded.frame()[0]), 0xC1U);  // FIN, RSV1, text
  EXPECT_EQ(Bytes(encoded.payload().begin(), encoded.payload().end()), bytes_of({1, 2, 3}));
}

// Whatever the size and bits, payload() and reserved_bits() say what a
// peer parsing frame() reads.
RC_GTEST_PROP(PreparedMessage, AccessorsAgreeWithTheParsedFrame, (const std::string& text)) {
  const auto bits = *rc::gen::inRange<unsigned>(0, 8);
  const Bytes payload = bytes_of(text);
  const auto message = PreparedMessage::make_with_encoding(
      MessageKind::binary, {}, "x", static_cast<std::uint8_t>(bits), payload);
  const PreparedMessage& encoded = *message->encoded();
  const auto frames = parse_frames(encoded.frame());
  RC_ASSERT(frames.size() == 1U);
  RC_ASSERT(frames[0].header.reserved_bits == encoded.reserved_bits());
  RC_ASSERT(static_cast<unsigned>(encoded.reserved_bits()) == bits);
  RC_ASSERT(Bytes(encoded.payload().begin(), encoded.payload().end()) == frames[0].payload);
  RC_ASSERT(encoded.payload().size() == encoded.payload_size());
}

}  // namespace
}  // namespace ws
