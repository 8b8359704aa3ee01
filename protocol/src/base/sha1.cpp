#include "ws/base/sha1.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace ws {
namespace {

// FIPS 180-4 5.3.1: initial hash value.
constexpr std::array<std::uint32_t, 5> kInitialState = {0x67452301U, 0xEFCDAB89U, 0x98BADCFEU,
                                                        0x10325476U, 0xC3D2E1F0U};

std::uint32_t load_be32(const std::byte* p) noexcept {
  return (std::to_integer<std::uint32_t>(p[0]) << 24) |
         (std::to_integer<std::uint32_t>(p[1]) << 16) |
         (std::to_integer<std::uint32_t>(p[2]) << 8) | std::to_integer<std::uint32_t>(p[3]);
}

void store_be32(std::byte* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::byte>(v >> 24);
  p[1] = static_cast<std::byte>(v >> 16);
  p[2] = static_cast<std::byte>(v >> 8);
  p[3] = static_cast<std::byte>(v);
}

}  // namespace

Sha1::Sha1() noexcept : state_(kInitialState) {}

// FIPS 180-4 6.1.2: one 512-bit block. The message schedule is kept as a
// 16-word ring instead of 80 words.
void Sha1::compress(const std::byte* block) noexcept {
  std::array<std::uint32_t, 16> w{};
  for (std::size_t t = 0; t < 16; ++t) w[t] = load_be32(block + 4 * t);

  std::uint32_t a = state_[0];
  std::uint32_t b = state_[1];
  std::uint32_t c = state_[2];
  std::uint32_t d = state_[3];
  std::uint32_t e = state_[4];

  for (std::size_t t = 0; t < 80; ++t) {
    if (t >= 16) {
      w[t % 16] = std::rotl(w[(t - 3) % 16] ^ w[(t - 8) % 16] ^ w[(t - 14) % 16] ^ w[t % 16], 1);
    }
    std::uint32_t f = 0;
    std::uint32_t k = 0;
    if (t < 20) {
      f = (b & c) | (~b & d);  // Ch
      k = 0x5A827999U;
    } else if (t < 40) {
      f = b ^ c ^ d;  // Parity
      k = 0x6ED9EBA1U;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);  // Maj
      k = 0x8F1BBCDCU;
    } else {
      f = b ^ c ^ d;  // Parity
      k = 0xCA62C1D6U;
    }
    const std::uint32_t temp = std::rotl(a, 5) + f + e + k + w[t % 16];
    e = d;
    d = c;
    c = std::rotl(b, 30);
    b = a;
    a = temp;
  }

  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
  state_[4] += e;
}

void Sha1::update(ByteView data) noexcept {
  std::size_t used = static_cast<std::size_t>(length_ % 64);
  length_ += data.size();

  if (used != 0) {
    const std::size_t take = std::min(data.size(), 64 - used);
    std::memcpy(block_.data() + used, data.data(), take);
    data = data.subspan(take);
    used += take;
    if (used < 64) return;
    compress(block_.data());
  }
  while (data.size() >= 64) {
    compress(data.data());
    data = data.subspan(64);
  }
  if (!data.empty()) std::memcpy(block_.data(), data.data(), data.size());
}

Sha1Digest Sha1::finish() noexcept {
  // FIPS 180-4 5.1.1: append 0x80, zeros up to 56 mod 64, then the message
  // length in bits as a 64-bit big-endian number.
  const std::uint64_t bit_length = length_ * 8;
  std::size_t used = static_cast<std::size_t>(length_ % 64);
  block_[used++] = std::byte{0x80};
  if (used > 56) {
    std::memset(block_.data() + used, 0, 64 - used);
    compress(block_.data());
    used = 0;
  }
  std::memset(block_.data() + used, 0, 56 - used);
  store_be32(block_.data() + 56, static_cast<std::uint32_t>(bit_length >> 32));
  store_be32(block_.data() + 60, static_cast<std::uint32_t>(bit_length));
  compress(block_.data());

  Sha1Digest digest{};
  for (std::size_t i = 0; i < 5; ++i) store_be32(digest.data() + 4 * i, state_[i]);
  *this = Sha1{};
  return digest;
}

Sha1Digest sha1(ByteView data) noexcept {
  Sha1 hasher;
  hasher.update(data);
  return hasher.finish();
}

}  // namespace ws
