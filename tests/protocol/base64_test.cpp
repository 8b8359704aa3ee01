// Base64 (RFC 4648 section 4): standard alphabet, padded, strict decoding.
#include "ws/base/base64.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::vector<std::byte> bytes_of(std::string_view text) {
  const ws::ByteView view = ws::as_bytes(text);
  return {view.begin(), view.end()};
}

struct Vector {
  std::string_view plain;
  std::string_view encoded;
};

// RFC 4648 section 10.
constexpr Vector kRfc4648Vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

TEST(Base64, EncodesRfc4648Vectors) {
  for (const Vector& v : kRfc4648Vectors) {
    EXPECT_EQ(ws::base64_encode(ws::as_bytes(v.plain)), v.encoded) << "plain \"" << v.plain << '"';
  }
}

TEST(Base64, DecodesRfc4648Vectors) {
  for (const Vector& v : kRfc4648Vectors) {
    const auto decoded = ws::base64_decode(v.encoded);
    ASSERT_TRUE(decoded.has_value()) << v.encoded;
    EXPECT_EQ(*decoded, bytes_of(v.plain)) << v.encoded;
  }
}

TEST(Base64, UsesPlusAndSlashForTheLastTwoValues) {
  const std::vector<std::byte> data = {std::byte{0xFB}, std::byte{0xFF}, std::byte{0xBF}};
  EXPECT_EQ(ws::base64_encode(data), "+/+/");
  EXPECT_EQ(ws::base64_decode("+/+/"), data);
}

// RFC 6455 4.1: a Sec-WebSocket-Key is 16 random bytes, 24 characters.
TEST(Base64, DecodesRfc6455SampleKeyToSixteenBytes) {
  const auto decoded = ws::base64_decode("dGhlIHNhbXBsZSBub25jZQ==");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, bytes_of("the sample nonce"));
}

TEST(Base64, RejectsMalformedInput) {
  using namespace std::string_view_literals;
  const std::string_view rejected[] = {
      "Z",            // length not a multiple of 4
      "Zg",           // unpadded
      "Zg=",          // short padding
      "Zm9vY",        // one character too many
      "Zg===",        // too much padding
      "Z===",         // three padding characters
      "====",         // padding only
      "=Zg=",         // padding first
      "Z=g=",         // padding inside a group
      "Zg=a",         // data after padding
      "Zg==Zg==",     // padding before the last group
      "Zm9v====",     // a whole group of padding
      "Zh==",         // RFC 4648 3.5: non-zero bits discarded by "=="
      "Zm9=",         // RFC 4648 3.5: non-zero bits discarded by "="
      "Zm-v",         // base64url alphabet (RFC 4648 5)
      "Zm_v",         // base64url alphabet
      "Zm9v\r\n",     // line break
      " Zm9v",        // leading space
      "Zm 9v",        // inner space
      "Zm9v Zm9v",    // space between groups
      "Zm9\0"sv,      // NUL
      "Zm9\xC3\xA9",  // non-ASCII
      "Zm.v",         // punctuation
  };
  for (const std::string_view text : rejected) {
    EXPECT_FALSE(ws::base64_decode(text).has_value()) << '"' << text << '"';
  }
}

RC_GTEST_PROP(Base64, DecodeOfEncodeIsIdentity, (const std::vector<std::uint8_t>& raw)) {
  std::vector<std::byte> data;
  for (const std::uint8_t v : raw) data.push_back(std::byte{v});
  const std::string encoded = ws::base64_encode(data);
  RC_ASSERT(encoded.size() == (data.size() + 2) / 3 * 4);
  RC_ASSERT(ws::base64_decode(encoded) == data);
}

// Canonical decoding: whatever is accepted is exactly what encode produces,
// so no two texts decode to the same bytes. The last group is often padded,
// with random bits where padding discards them.
RC_GTEST_PROP(Base64, AcceptsOnlyTheCanonicalEncoding, ()) {
  const auto symbol = rc::gen::elementOf(
      std::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"));
  std::string text =
      *rc::gen::container<std::string>(*rc::gen::inRange<std::size_t>(0, 4) * 4, symbol);
  switch (*rc::gen::inRange(0, 3)) {
    case 0:
      text += *rc::gen::container<std::string>(4, symbol);
      break;
    case 1:
      text += *rc::gen::container<std::string>(3, symbol) + "=";
      break;
    default:
      text += *rc::gen::container<std::string>(2, symbol) + "==";
      break;
  }
  const auto decoded = ws::base64_decode(text);
  RC_CLASSIFY(decoded.has_value(), "accepted");
  if (decoded) RC_ASSERT(ws::base64_encode(*decoded) == text);
}

}  // namespace
