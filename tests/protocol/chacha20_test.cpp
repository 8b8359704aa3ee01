// The ChaCha20 block function behind the default random source (masking
// keys, RFC 6455 10.3), checked against RFC 8439's test vector.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "base/chacha20.hpp"

namespace {

// RFC 8439 2.3.2: key 00 01 .. 1f, nonce 00 00 00 09 00 00 00 4a 00 00 00 00,
// block count 1.
TEST(ChaCha20, BlockMatchesRfc8439TestVector) {
  ws::detail::ChaCha20Key key;
  for (std::uint32_t i = 0; i < 8; ++i) {
    const std::uint32_t b = 4 * i;
    key.key[i] = b | (b + 1) << 8 | (b + 2) << 16 | (b + 3) << 24;
  }
  key.nonce = {0x09000000, 0x4a000000, 0x00000000};
  std::array<std::uint8_t, 64> out{};
  ws::detail::chacha20_block(key, 1, out);
  const std::array<std::uint8_t, 64> expected{
      0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3,
      0x20, 0x71, 0xc4, 0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22,
      0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e, 0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa,
      0x09, 0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2, 0xb5, 0x12, 0x9c, 0xd1,
      0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e};
  EXPECT_EQ(out, expected);
}

TEST(ChaCha20, DifferentCountersGiveDifferentBlocks) {
  const ws::detail::ChaCha20Key key{};
  std::array<std::uint8_t, 64> first{};
  std::array<std::uint8_t, 64> second{};
  ws::detail::chacha20_block(key, 0, first);
  ws::detail::chacha20_block(key, 1, second);
  EXPECT_NE(first, second);
}

}  // namespace
