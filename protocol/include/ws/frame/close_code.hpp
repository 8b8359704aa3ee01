// Close status codes (RFC 6455 7.4) and the close frame payload (5.5.1).
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

#include "ws/base/bytes.hpp"

namespace ws {

/// Registered close codes. Any other uint16_t value may be carried too
/// (3000-4999 are for libraries and applications).
enum class CloseCode : std::uint16_t {
  normal = 1000,
  going_away = 1001,
  protocol_error = 1002,
  unsupported_data = 1003,
  no_status = 1005,  // never on the wire: "the close frame had no code"
  abnormal = 1006,   // never on the wire: "no close frame at all"
  invalid_payload = 1007,
  policy_violation = 1008,
  message_too_big = 1009,
  mandatory_extension = 1010,
  internal_error = 1011,
  service_restart = 1012,
  try_again_later = 1013,
  bad_gateway = 1014,
  tls_handshake_failed = 1015,  // never on the wire
};

/// RFC 6455 7.4.1/7.4.2 and the IANA registry: 1000-1003, 1007-1014 and
/// 3000-4999 may appear in a close frame; everything else is a protocol error
/// when received and may not be sent.
constexpr bool is_valid_wire_close_code(std::uint16_t code) noexcept {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

/// Longest reason that fits a control frame: 125 bytes minus the 2-byte code.
inline constexpr std::size_t max_close_reason_size = 123;

/// Checks a close this side wants to send (RFC 6455 7.4, 5.5): the code must
/// be allowed on the wire and the reason at most 123 bytes of UTF-8.
/// Errors: errc::close_code_not_sendable, errc::close_reason_too_long,
/// errc::close_reason_not_utf8.
std::error_code check_close_to_send(std::uint16_t code, std::string_view reason) noexcept;

struct ClosePayload {
  CloseCode code = CloseCode::no_status;  // no_status when the payload was empty
  std::string_view reason;                // views the payload passed in
  std::error_code error;                  // set when the payload is invalid
};

/// Parses a received close payload. Errors (all answered with 1002):
/// errc::invalid_close_payload (one byte), errc::invalid_close_code,
/// errc::invalid_close_reason (not UTF-8).
ClosePayload parse_close_payload(ByteView payload) noexcept;

}  // namespace ws
