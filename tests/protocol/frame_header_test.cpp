// RFC 6455 5.2: the frame header in all three length forms.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "support/frames.hpp"
#include "ws/base/error.hpp"
#include "ws/frame/frame_header.hpp"

namespace ws {
namespace {

using test::Bytes;
using test::bytes_of;

Bytes encode(const FrameHeader& header) {
  std::array<std::byte, max_frame_header_size> out{};
  const std::size_t size = encode_frame_header(header, out);
  return Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(size));
}

FrameHeader header(Opcode opcode, std::uint64_t length, bool fin = true) {
  FrameHeader h;
  h.opcode = opcode;
  h.payload_length = length;
  h.fin = fin;
  return h;
}

// RFC 6455 5.7: the examples, byte for byte, both directions.
TEST(FrameHeader, EncodesAndDecodesRfcSingleFrameUnmaskedText) {
  const Bytes wire = bytes_of({0x81, 0x05});
  EXPECT_EQ(encode(header(Opcode::text, 5)), wire);
  const auto decoded = decode_frame_header(wire);
  ASSERT_EQ(decoded.status, HeaderStatus::complete);
  EXPECT_EQ(decoded.header, header(Opcode::text, 5));
  EXPECT_EQ(decoded.header_size, 2U);
}

TEST(FrameHeader, EncodesAndDecodesRfcSingleFrameMaskedText) {
  FrameHeader h = header(Opcode::text, 5);
  h.masked = true;
  h.mask_key = {std::byte{0x37}, std::byte{0xfa}, std::byte{0x21}, std::byte{0x3d}};
  const Bytes wire = bytes_of({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d});
  EXPECT_EQ(encode(h), wire);
  const auto decoded = decode_frame_header(wire);
  ASSERT_EQ(decoded.status, HeaderStatus::complete);
  EXPECT_EQ(decoded.header, h);
  EXPECT_EQ(decoded.header_size, 6U);
}

TEST(FrameHeader, EncodesAndDecodesRfcFragmentedText) {
  EXPECT_EQ(encode(header(Opcode::text, 3, false)), bytes_of({0x01, 0x03}));
  EXPECT_EQ(encode(header(Opcode::continuation, 2)), bytes_of({0x80, 0x02}));
  EXPECT_EQ(decode_frame_header(bytes_of({0x01, 0x03})).header, header(Opcode::text, 3, false));
  EXPECT_EQ(decode_frame_header(bytes_of({0x80, 0x02})).header, header(Opcode::continuation, 2));
}

TEST(FrameHeader, EncodesAndDecodesRfcPingAndMaskedPong) {
  EXPECT_EQ(encode(header(Opcode::ping, 5)), bytes_of({0x89, 0x05}));
  FrameHeader pong = header(Opcode::pong, 5);
  pong.masked = true;
  pong.mask_key = {std::byte{0x37}, std::byte{0xfa}, std::byte{0x21}, std::byte{0x3d}};
  EXPECT_EQ(encode(pong), bytes_of({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
  EXPECT_EQ(decode_frame_header(bytes_of({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d})).header, pong);
}

TEST(FrameHeader, EncodesAndDecodesRfc256ByteBinaryWith16BitLength) {
  const Bytes wire = bytes_of({0x82, 0x7E, 0x01, 0x00});
  EXPECT_EQ(encode(header(Opcode::binary, 256)), wire);
  const auto decoded = decode_frame_header(wire);
  ASSERT_EQ(decoded.status, HeaderStatus::complete);
  EXPECT_EQ(decoded.header.payload_length, 256U);
  EXPECT_EQ(decoded.header_size, 4U);
}

TEST(FrameHeader, EncodesAndDecodesRfc64KiBBinaryWith64BitLength) {
  const Bytes wire = bytes_of({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00});
  EXPECT_EQ(encode(header(Opcode::binary, 65536)), wire);
  const auto decoded = decode_frame_header(wire);
  ASSERT_EQ(decoded.status, HeaderStatus::complete);
  EXPECT_EQ(decoded.header.payload_length, 65536U);
  EXPECT_EQ(decoded.header_size, 10U);
}

TEST(FrameHeader, UsesTheShortestLengthFormAtEachBoundary) {
  EXPECT_EQ(encode(header(Opcode::binary, 125)).size(), 2U);
  EXPECT_EQ(encode(header(Opcode::binary, 126)).size(), 4U);
  EXPECT_EQ(encode(header(Opcode::binary, 65535)).size(), 4U);
  EXPECT_EQ(encode(header(Opcode::binary, 65536)).size(), 10U);
  EXPECT_EQ(frame_header_size(125, true), 6U);
  EXPECT_EQ(frame_header_size(65536, true), 14U);
}

TEST(FrameHeader, IncompleteHeaderConsumesNothing) {
  const Bytes wire = bytes_of({0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, 1, 2, 3, 4});
  for (std::size_t size = 0; size < wire.size(); ++size) {
    const auto decoded = decode_frame_header(ByteView(wire).first(size));
    EXPECT_EQ(decoded.status, HeaderStatus::incomplete) << size;
    EXPECT_EQ(decoded.header_size, 0U) << size;
  }
  EXPECT_EQ(decode_frame_header(wire).status, HeaderStatus::complete);
}

// RFC 6455 5.2: "the most significant bit MUST be 0".
TEST(FrameHeader, RejectsA64BitLengthWithTheHighBitSet) {
  const auto decoded = decode_frame_header(bytes_of({0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(decoded.status, HeaderStatus::invalid);
  EXPECT_EQ(decoded.error, errc::length_high_bit_set);
}

// RFC 6455 5.2: "the minimal number of bytes MUST be used to encode the length".
TEST(FrameHeader, RejectsLengthsNotInTheirShortestForm) {
  EXPECT_EQ(decode_frame_header(bytes_of({0x82, 0x7E, 0x00, 0x7D})).error,
            errc::non_minimal_length);
  EXPECT_EQ(decode_frame_header(bytes_of({0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF})).error,
            errc::non_minimal_length);
}

TEST(FrameHeader, KeepsReservedBitsAndReservedOpcodesForTheRulesToJudge) {
  const auto decoded = decode_frame_header(bytes_of({0xF3, 0x00}));
  ASSERT_EQ(decoded.status, HeaderStatus::complete);
  EXPECT_EQ(decoded.header.reserved_bits, rsv1 | rsv2 | rsv3);
  EXPECT_EQ(static_cast<unsigned>(decoded.header.opcode), 3U);
}

RC_GTEST_PROP(FrameHeaderProperty, DecodeOfEncodeIsIdentity, ()) {
  FrameHeader h;
  h.fin = *rc::gen::arbitrary<bool>();
  h.reserved_bits = *rc::gen::inRange<std::uint8_t>(0, 8);
  h.opcode = static_cast<Opcode>(*rc::gen::inRange<std::uint8_t>(0, 16));
  h.masked = *rc::gen::arbitrary<bool>();
  if (h.masked) {
    for (std::byte& b : h.mask_key) b = static_cast<std::byte>(*rc::gen::arbitrary<std::uint8_t>());
  }
  h.payload_length = *rc::gen::oneOf(
      rc::gen::inRange<std::uint64_t>(0, 126), rc::gen::inRange<std::uint64_t>(126, 65536),
      rc::gen::inRange<std::uint64_t>(65536, max_payload_length),
      rc::gen::element<std::uint64_t>(125, 126, 127, 65535, 65536, max_payload_length));
  std::array<std::byte, max_frame_header_size> out{};
  const std::size_t size = encode_frame_header(h, out);
  RC_ASSERT(size == frame_header_size(h.payload_length, h.masked));
  const auto decoded = decode_frame_header(ByteView(out).first(size));
  RC_ASSERT(decoded.status == HeaderStatus::complete);
  RC_ASSERT(decoded.header_size == size);
  RC_ASSERT(decoded.header == h);
}

}  // namespace
}  // namespace ws
