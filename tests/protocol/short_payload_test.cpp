// The short-payload kernels behind the receive fast path (frames of at most
// 125 bytes, RFC 6455 5.2): unmasking in place (5.3) and the non-ASCII check
// that decides whether text needs the UTF-8 validator (8.1).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "frame/short_payload.hpp"

namespace {

std::vector<std::byte> unmask_reference(std::vector<std::byte> data,
                                        const std::array<std::byte, 4>& key) {
  for (std::size_t i = 0; i < data.size(); ++i) data[i] ^= key[i % 4];
  return data;
}

bool has_high_bit(const std::vector<std::byte>& data) {
  for (const std::byte b : data) {
    if ((b & std::byte{0x80}) != std::byte{0}) return true;
  }
  return false;
}

// Every length the fast path takes, at every alignment of the payload (the
// payload sits 2 or 6 bytes after a frame start, anywhere in the buffer).
RC_GTEST_PROP(ShortPayload, UnmaskMatchesBytewiseXorAndReportsNonAscii,
              (std::array<std::uint8_t, 4> key_bytes, std::uint8_t seed)) {
  const auto size = static_cast<std::size_t>(*rc::gen::inRange(0, 126));
  const auto misalign = static_cast<std::size_t>(*rc::gen::inRange(0, 64));
  const auto payload =
      *rc::gen::container<std::vector<std::uint8_t>>(size, rc::gen::arbitrary<std::uint8_t>());
  std::array<std::byte, 4> key{};
  for (std::size_t i = 0; i < 4; ++i) key[i] = std::byte{key_bytes[i]};
  std::vector<std::byte> buffer(misalign + size + 64, std::byte{seed});
  for (std::size_t i = 0; i < size; ++i) buffer[misalign + i] = std::byte{payload[i]};
  const std::vector<std::byte> before(
      buffer.begin() + static_cast<std::ptrdiff_t>(misalign),
      buffer.begin() + static_cast<std::ptrdiff_t>(misalign + size));
  const std::vector<std::byte> expected = unmask_reference(before, key);

  const bool non_ascii =
      ws::detail::unmask_short_payload(buffer.data() + misalign, size, key.data());

  const std::vector<std::byte> got(buffer.begin() + static_cast<std::ptrdiff_t>(misalign),
                                   buffer.begin() + static_cast<std::ptrdiff_t>(misalign + size));
  RC_ASSERT(got == expected);
  RC_ASSERT(non_ascii == has_high_bit(expected));
  // Nothing outside the payload is touched.
  for (std::size_t i = 0; i < misalign; ++i) RC_ASSERT(buffer[i] == std::byte{seed});
  for (std::size_t i = misalign + size; i < buffer.size(); ++i)
    RC_ASSERT(buffer[i] == std::byte{seed});
}

RC_GTEST_PROP(ShortPayload, NonAsciiCheckMatchesBytewiseCheck, ()) {
  const auto size = static_cast<std::size_t>(*rc::gen::inRange(0, 126));
  // Mostly ASCII, so a single high byte at any position is exercised.
  auto data =
      *rc::gen::container<std::vector<std::uint8_t>>(size, rc::gen::inRange<std::uint8_t>(0, 0x80));
  if (size > 0 && *rc::gen::arbitrary<bool>()) {
    data[static_cast<std::size_t>(*rc::gen::inRange<std::size_t>(0, size))] =
        *rc::gen::inRange<std::uint8_t>(0x80, 0xFF);
  }
  std::vector<std::byte> bytes(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) bytes[i] = std::byte{data[i]};
  RC_ASSERT(ws::detail::has_non_ascii_short(bytes.data(), bytes.size()) == has_high_bit(bytes));
}

TEST(ShortPayload, HighBitInTheLastByteOf125IsSeen) {
  std::vector<std::byte> data(125, std::byte{'a'});
  data[124] = std::byte{0xC3};
  EXPECT_TRUE(ws::detail::has_non_ascii_short(data.data(), data.size()));
  const std::array<std::byte, 4> zero_key{};
  EXPECT_TRUE(ws::detail::unmask_short_payload(data.data(), data.size(), zero_key.data()));
  data[124] = std::byte{'b'};
  EXPECT_FALSE(ws::detail::unmask_short_payload(data.data(), data.size(), zero_key.data()));
}

}  // namespace
