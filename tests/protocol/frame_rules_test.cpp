// RFC 6455 5.1-5.5: what a received frame header must obey.
#include <gtest/gtest.h>

#include "ws/base/error.hpp"
#include "ws/frame/frame_rules.hpp"

namespace ws {
namespace {

struct RuleCase {
  const char* name;
  FrameHeader header;
  FrameContext context;
  std::error_code expected;
};

FrameHeader make(Opcode opcode, bool fin, bool masked, std::uint64_t length = 0,
                 std::uint8_t rsv = rsv_none) {
  FrameHeader h;
  h.opcode = opcode;
  h.fin = fin;
  h.masked = masked;
  h.payload_length = length;
  h.reserved_bits = rsv;
  return h;
}

constexpr FrameContext at_server{Role::server, rsv_none, false};
constexpr FrameContext at_client{Role::client, rsv_none, false};
constexpr FrameContext at_server_mid_message{Role::server, rsv_none, true};
constexpr FrameContext at_server_with_rsv1{Role::server, rsv1, false};

class FrameRules : public ::testing::TestWithParam<RuleCase> {};

TEST_P(FrameRules, JudgesTheHeader) {
  const RuleCase& c = GetParam();
  EXPECT_EQ(check_frame_header(c.header, c.context), c.expected) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Table, FrameRules,
    ::testing::Values(
        RuleCase{"masked text at server", make(Opcode::text, true, true), at_server, {}},
        RuleCase{"unmasked text at client", make(Opcode::text, true, false), at_client, {}},
        RuleCase{"unmasked at server (5.1)", make(Opcode::text, true, false), at_server,
                 errc::mask_required},
        RuleCase{"masked at client (5.1)", make(Opcode::binary, true, true), at_client,
                 errc::mask_forbidden},
        RuleCase{"rsv1 without extension", make(Opcode::text, true, true, 0, rsv1), at_server,
                 errc::reserved_bits_set},
        RuleCase{"rsv2", make(Opcode::binary, true, true, 0, rsv2), at_server,
                 errc::reserved_bits_set},
        RuleCase{"rsv3 on ping", make(Opcode::ping, true, true, 0, rsv3), at_server,
                 errc::reserved_bits_set},
        RuleCase{"rsv1 claimed by an extension",
                 make(Opcode::text, true, true, 0, rsv1),
                 at_server_with_rsv1,
                 {}},
        RuleCase{"rsv2 not claimed", make(Opcode::text, true, true, 0, rsv1 | rsv2),
                 at_server_with_rsv1, errc::reserved_bits_set},
        RuleCase{"opcode 3", make(static_cast<Opcode>(3), true, true), at_server,
                 errc::reserved_opcode},
        RuleCase{"opcode 7", make(static_cast<Opcode>(7), true, true), at_server,
                 errc::reserved_opcode},
        RuleCase{"opcode 11", make(static_cast<Opcode>(11), true, true), at_server,
                 errc::reserved_opcode},
        RuleCase{"opcode 15", make(static_cast<Opcode>(15), true, true), at_server,
                 errc::reserved_opcode},
        RuleCase{"fragmented ping (5.5)", make(Opcode::ping, false, true), at_server,
                 errc::control_frame_fragmented},
        RuleCase{"fragmented close", make(Opcode::close, false, true), at_server,
                 errc::control_frame_fragmented},
        RuleCase{"125-byte ping", make(Opcode::ping, true, true, 125), at_server, {}},
        RuleCase{"126-byte ping (5.5)", make(Opcode::ping, true, true, 126), at_server,
                 errc::control_frame_too_long},
        RuleCase{"126-byte pong", make(Opcode::pong, true, true, 126), at_server,
                 errc::control_frame_too_long},
        RuleCase{"continuation without message (5.4)", make(Opcode::continuation, true, true),
                 at_server, errc::unexpected_continuation},
        RuleCase{"continuation in message",
                 make(Opcode::continuation, true, true),
                 at_server_mid_message,
                 {}},
        RuleCase{"text inside open message (5.4)", make(Opcode::text, true, true),
                 at_server_mid_message, errc::message_not_finished},
        RuleCase{"binary inside open message", make(Opcode::binary, false, true),
                 at_server_mid_message, errc::message_not_finished},
        RuleCase{"ping inside open message (5.4)",
                 make(Opcode::ping, true, true),
                 at_server_mid_message,
                 {}},
        RuleCase{"close inside open message",
                 make(Opcode::close, true, true, 2),
                 at_server_mid_message,
                 {}}),
    [](const ::testing::TestParamInfo<RuleCase>& param) {
      std::string name = param.param.name;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

}  // namespace
}  // namespace ws
