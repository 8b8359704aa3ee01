// SHA-1 (FIPS 180-4): published vectors and incremental hashing.
#include "ws/base/sha1.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ws/base/base64.hpp"

namespace {

std::string hex(const ws::Sha1Digest& digest) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  for (const std::byte b : digest) {
    const auto v = std::to_integer<unsigned>(b);
    out.push_back(kDigits[v >> 4]);
    out.push_back(kDigits[v & 0x0F]);
  }
  return out;
}

std::string sha1_hex(std::string_view text) { return hex(ws::sha1(ws::as_bytes(text))); }

// FIPS 180-2 appendix A and RFC 3174 section 7.3 test vectors.
TEST(Sha1, HashesAbc) { EXPECT_EQ(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d"); }

TEST(Sha1, HashesEmptyMessage) {
  EXPECT_EQ(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(Sha1, Hashes448BitMessage) {
  EXPECT_EQ(sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

TEST(Sha1, Hashes896BitMessage) {
  EXPECT_EQ(
      sha1_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnop"
               "qklmnopqrlmnopqrsmnopqrstnopqrstu"),
      "a49b2446a02c645bf419f995b67091253a04a259");
}

TEST(Sha1, HashesOneMillionA) {
  EXPECT_EQ(sha1_hex(std::string(1'000'000, 'a')), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(Sha1, HashesOneMillionAFedInPieces) {
  // RFC 3174 section 7.3 feeds this vector as 10000 updates of 100 bytes.
  const std::string piece(100, 'a');
  ws::Sha1 hasher;
  for (int i = 0; i < 10'000; ++i) hasher.update(ws::as_bytes(piece));
  EXPECT_EQ(hex(hasher.finish()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

// FIPS 180-4 5.1.1: the padding takes one extra block when fewer than 9 bytes
// are left in the last one. Lengths around 55/56 and 64 exercise both cases.
// Expected values computed with an independent implementation.
TEST(Sha1, PadsAtBlockBoundaries) {
  const std::vector<std::pair<std::size_t, std::string_view>> cases = {
      {55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
      {56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
      {57, "f08f24908d682555111be7ff6f004e78283d989a"},
      {63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"},
      {64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
      {65, "11655326c708d70319be2610e8a57d9a5b959d3b"},
      {119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56"},
      {120, "f34c1488385346a55709ba056ddd08280dd4c6d6"},
  };
  for (const auto& [length, expected] : cases) {
    EXPECT_EQ(sha1_hex(std::string(length, 'a')), expected) << "length " << length;
  }
}

TEST(Sha1, FinishResetsForTheNextMessage) {
  ws::Sha1 hasher;
  hasher.update(ws::as_bytes("something else"));
  static_cast<void>(hasher.finish());
  hasher.update(ws::as_bytes("abc"));
  EXPECT_EQ(hex(hasher.finish()), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

// RFC 6455 1.3: the worked Sec-WebSocket-Accept example, SHA-1 then base64.
TEST(Sha1, ComputesRfc6455AcceptExample) {
  const ws::Sha1Digest digest =
      ws::sha1(ws::as_bytes("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
  EXPECT_EQ(ws::base64_encode(digest), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

RC_GTEST_PROP(Sha1, AnySplitOfUpdatesEqualsOneShot, ()) {
  // Up to a few blocks, so splits land inside, on and across block edges.
  const auto size = *rc::gen::inRange<std::size_t>(0, 300);
  const auto raw =
      *rc::gen::container<std::vector<std::uint8_t>>(size, rc::gen::arbitrary<std::uint8_t>());
  std::vector<std::byte> data(raw.size());
  std::transform(raw.begin(), raw.end(), data.begin(), [](std::uint8_t v) { return std::byte{v}; });
  auto cuts =
      *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, size + 1));
  std::sort(cuts.begin(), cuts.end());

  ws::Sha1 hasher;
  std::size_t from = 0;
  for (const std::size_t cut : cuts) {
    hasher.update(ws::ByteView(data).subspan(from, cut - from));
    from = cut;
  }
  hasher.update(ws::ByteView(data).subspan(from));
  RC_ASSERT(hasher.finish() == ws::sha1(data));
}

}  // namespace
