// The permessage-deflate codec alone (RFC 7692 7.2), with the RFC's own
// examples (7.2.3).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "support/frames.hpp"
#include "ws/base/error.hpp"
#include "ws/deflate/deflate.hpp"

namespace ws::deflate {
namespace {

using test::Bytes;

// Decodes one whole message the way a Connection does: output in chunks of
// `chunk` bytes, then the end of the message.
Result<Bytes> decode_message(ExtensionSession& session, ByteView in, std::size_t chunk = 7) {
  Bytes out;
  std::size_t used = 0;
  for (;;) {
    Bytes room(chunk);
    const CodecStep step = session.decode(in.subspan(used), room, true);
    if (step.error) return step.error;
    used += step.consumed;
    out.insert(out.end(), room.begin(), room.begin() + static_cast<std::ptrdiff_t>(step.produced));
    if (used == in.size() && step.finished) return out;
    if (step.consumed == 0 && step.produced == 0) return errc::extension_failed;
  }
}

Bytes encode_message(ExtensionSession& session, std::string_view text) {
  std::vector<std::byte> out;
  EXPECT_FALSE(session.encode(test::bytes_of(text), true, out));
  return out;
}

TEST(DeflateSession, InflatesTheRfcHelloExample) {
  // RFC 7692 7.2.3.1: "Hello" compressed, tail removed.
  auto server = make_session(Role::server, {});
  const Result<Bytes> out =
      decode_message(*server, test::bytes_of({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  ASSERT_TRUE(out);
  EXPECT_EQ(test::text_of(*out), "Hello");
}

TEST(DeflateSession, InflatesASecondMessageThatReusesTheContext) {
  // RFC 7692 7.2.3.2: the second "Hello" refers back into the first.
  auto server = make_session(Role::server, {});
  ASSERT_TRUE(decode_message(*server, test::bytes_of({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})));
  const Result<Bytes> out = decode_message(*server, test::bytes_of({0xf2, 0x00, 0x11, 0x00, 0x00}));
  ASSERT_TRUE(out);
  EXPECT_EQ(test::text_of(*out), "Hello");
}

TEST(DeflateSession, InflatesStoredBlocksAndAFinalBlock) {
  // RFC 7692 7.2.3.3 (no compression) and 7.2.3.4 (BFINAL set).
  auto server = make_session(Role::server, {});
  Result<Bytes> out = decode_message(
      *server, test::bytes_of({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}));
  ASSERT_TRUE(out);
  EXPECT_EQ(test::text_of(*out), "Hello");
  out = decode_message(*server, test::bytes_of({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}));
  ASSERT_TRUE(out);
  EXPECT_EQ(test::text_of(*out), "Hello");
}

TEST(DeflateSession, CompressesHelloAsTheRfcShows) {
  auto client = make_session(Role::client, {});
  EXPECT_EQ(encode_message(*client, "Hello"),
            test::bytes_of({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  // 7.2.3.2: with context takeover the second one is shorter.
  EXPECT_EQ(encode_message(*client, "Hello"), test::bytes_of({0xf2, 0x00, 0x11, 0x00, 0x00}));
}

TEST(DeflateSession, NoContextTakeoverCompressesEveryMessageAlike) {
  Parameters agreed;
  agreed.client_no_context_takeover = true;
  auto client = make_session(Role::client, agreed);
  const Bytes first = encode_message(*client, "Hello");
  EXPECT_EQ(encode_message(*client, "Hello"), first);
}

TEST(DeflateSession, AnEmptyMessageIsOneZeroByte) {
  // RFC 7692 7.2.3.6.
  auto client = make_session(Role::client, {});
  EXPECT_EQ(encode_message(*client, ""), test::bytes_of({0x00}));
  auto server = make_session(Role::server, {});
  const Result<Bytes> out = decode_message(*server, test::bytes_of({0x00}));
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->empty());
}

TEST(DeflateSession, CorruptDataIsAnError) {
  auto server = make_session(Role::server, {});
  const Result<Bytes> out = decode_message(*server, test::bytes_of({0xff, 0xff, 0xff, 0xff}));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error(), errc::extension_failed);
}

TEST(DeflateSession, ADistancePastTheAgreedWindowIsAnError) {
  // Compressed with a 15-bit window, inflated with the 9 bits the peer agreed to.
  Options big;
  auto client = make_session(Role::client, {}, big);
  std::string text(2000, 'x');
  std::uint32_t state = 1;
  for (char& c : text) {
    state = state * 1103515245U + 12345U;
    c = static_cast<char>('a' + (state >> 16) % 26);
  }
  const Bytes compressed = encode_message(*client, text + text);
  Parameters agreed;
  agreed.client_max_window_bits = 9;
  auto server = make_session(Role::server, agreed);
  EXPECT_FALSE(decode_message(*server, compressed));
}

TEST(DeflateSession, ThresholdLeavesShortMessagesUncompressed) {
  Options o;
  o.min_size = 100;
  auto session = make_session(Role::server, {}, o);
  EXPECT_FALSE(session->should_encode(MessageKind::text, 99));
  EXPECT_TRUE(session->should_encode(MessageKind::text, 100));
}

Parameters gen_parameters(bool with_small_windows) {
  Parameters p;
  p.server_no_context_takeover = *rc::gen::arbitrary<bool>();
  p.client_no_context_takeover = *rc::gen::arbitrary<bool>();
  if (with_small_windows) {
    p.server_max_window_bits = *rc::gen::inRange(9, 16);
    p.client_max_window_bits = *rc::gen::inRange(9, 16);
  }
  return p;
}

RC_GTEST_PROP(DeflateSession, InflateOfDeflateIsTheMessageForEveryParameterSet,
              (const std::vector<std::string>& messages)) {
  const Parameters agreed = gen_parameters(true);
  Options options;
  options.mem_level = *rc::gen::inRange(1, 10);
  options.level = *rc::gen::inRange(0, 10);
  auto client = make_session(Role::client, agreed, options);
  auto server = make_session(Role::server, agreed, options);
  const std::size_t chunk = *rc::gen::inRange<std::size_t>(1, 5000);
  for (const std::string& m : messages) {
    // Some messages repeat their own text so the window is used.
    const std::string text = *rc::gen::arbitrary<bool>() ? m + m + m : m;
    std::vector<std::byte> wire;
    RC_ASSERT(!client->encode(test::bytes_of(text), true, wire));
    const Result<Bytes> back = decode_message(*server, wire, chunk);
    RC_ASSERT(static_cast<bool>(back));
    RC_ASSERT(test::text_of(*back) == text);
  }
}

RC_GTEST_PROP(DeflateSession, ArbitraryBytesNeverCrashAndOutputStaysInTheRoomGiven,
              (const std::vector<std::uint8_t>& garbage)) {
  auto server = make_session(Role::server, gen_parameters(true));
  Bytes in;
  for (const std::uint8_t b : garbage) in.push_back(static_cast<std::byte>(b));
  std::size_t used = 0;
  for (int calls = 0; calls < 100000; ++calls) {
    Bytes room(13);
    const CodecStep step = server->decode(ByteView(in).subspan(used), room, true);
    RC_ASSERT(step.produced <= room.size());
    RC_ASSERT(step.consumed <= in.size() - used);
    used += step.consumed;
    if (step.error || (used == in.size() && step.finished)) return;
    RC_ASSERT(step.consumed > 0 || step.produced > 0);
  }
  RC_FAIL("decode never ended");
}

}  // namespace
}  // namespace ws::deflate
