#include "ws/base/error.hpp"
#include "ws/base/utf8_validator.hpp"
#include "ws/frame/close_code.hpp"

namespace ws {

std::error_code check_close_to_send(std::uint16_t code, std::string_view reason) noexcept {
  // RFC 6455 7.4.1: 1005, 1006 and 1015 describe a missing close; they and
  // the unassigned ranges never go on the wire.
  if (!is_valid_wire_close_code(code)) return errc::close_code_not_sendable;
  if (reason.size() > max_close_reason_size) return errc::close_reason_too_long;
  if (!is_valid_utf8(as_bytes(reason))) return errc::close_reason_not_utf8;
  return {};
}

ClosePayload parse_close_payload(ByteView payload) noexcept {
  ClosePayload result;
  if (payload.empty()) return result;
  if (payload.size() == 1) {
    result.error = errc::invalid_close_payload;
    return result;
  }
  const auto code = static_cast<std::uint16_t>((std::to_integer<unsigned>(payload[0]) << 8) |
                                               std::to_integer<unsigned>(payload[1]));
  if (!is_valid_wire_close_code(code)) {
    result.error = errc::invalid_close_code;
    return result;
  }
  const ByteView reason = payload.subspan(2);
  if (!is_valid_utf8(reason)) {
    result.error = errc::invalid_close_reason;
    return result;
  }
  result.code = static_cast<CloseCode>(code);
  result.reason = as_text(reason);
  return result;
}

}  // namespace ws
