// RFC 6455 7.4 and 5.5.1: which close codes may be on the wire, and the
// close payload.
#include <gtest/gtest.h>

#include "support/frames.hpp"
#include "ws/base/error.hpp"
#include "ws/frame/close_code.hpp"

namespace ws {
namespace {

using test::bytes_of;
using test::close_payload;

TEST(CloseCode, AcceptsRegisteredAndPrivateCodes) {
  for (unsigned code : {1000U, 1001U, 1002U, 1003U, 1007U, 1008U, 1009U, 1010U, 1011U, 1012U, 1013U,
                        1014U, 3000U, 3999U, 4000U, 4999U}) {
    EXPECT_TRUE(is_valid_wire_close_code(static_cast<std::uint16_t>(code))) << code;
  }
}

TEST(CloseCode, RejectsReservedUnassignedAndOutOfRangeCodes) {
  for (unsigned code :
       {0U, 1U, 999U, 1004U, 1005U, 1006U, 1015U, 1016U, 1100U, 2000U, 2999U, 5000U, 65535U}) {
    EXPECT_FALSE(is_valid_wire_close_code(static_cast<std::uint16_t>(code))) << code;
  }
}

TEST(ClosePayload, EmptyPayloadMeansNoStatus) {
  const ClosePayload parsed = parse_close_payload({});
  EXPECT_FALSE(parsed.error);
  EXPECT_EQ(parsed.code, CloseCode::no_status);
  EXPECT_TRUE(parsed.reason.empty());
}

TEST(ClosePayload, ParsesCodeAndReason) {
  const auto payload = close_payload(1001, "bye");
  const ClosePayload parsed = parse_close_payload(payload);
  EXPECT_FALSE(parsed.error);
  EXPECT_EQ(parsed.code, CloseCode::going_away);
  EXPECT_EQ(parsed.reason, "bye");
}

TEST(ClosePayload, RejectsOneBytePayload) {
  EXPECT_EQ(parse_close_payload(bytes_of({0x03})).error, errc::invalid_close_payload);
}

TEST(ClosePayload, RejectsCodesThatMayNotBeOnTheWire) {
  EXPECT_EQ(parse_close_payload(close_payload(1005)).error, errc::invalid_close_code);
  EXPECT_EQ(parse_close_payload(close_payload(999)).error, errc::invalid_close_code);
  EXPECT_EQ(parse_close_payload(close_payload(5000)).error, errc::invalid_close_code);
}

TEST(ClosePayload, RejectsAReasonThatIsNotUtf8) {
  auto payload = close_payload(1000);
  payload.push_back(std::byte{0xC0});
  payload.push_back(std::byte{0xAF});
  EXPECT_EQ(parse_close_payload(payload).error, errc::invalid_close_reason);
}

TEST(ClosePayload, AcceptsA123ByteUtf8Reason) {
  const std::string reason(123, 'r');
  const auto payload = close_payload(4000, reason);
  const ClosePayload parsed = parse_close_payload(payload);
  EXPECT_FALSE(parsed.error);
  EXPECT_EQ(parsed.reason, reason);
}

}  // namespace
}  // namespace ws
