#include "ws/frame/frame_rules.hpp"

#include "ws/base/error.hpp"

namespace ws {

std::error_code check_frame_header(const FrameHeader& header,
                                   const FrameContext& context) noexcept {
  // RFC 6455 5.2: RSV bits must be 0 unless an extension defines them.
  if ((header.reserved_bits & ~context.allowed_reserved_bits) != 0) return errc::reserved_bits_set;
  switch (header.opcode) {
    case Opcode::continuation:
    case Opcode::text:
    case Opcode::binary:
    case Opcode::close:
    case Opcode::ping:
    case Opcode::pong:
      break;
    default:
      return errc::reserved_opcode;  // 3-7 and 11-15
  }
  // RFC 6455 5.1: a client masks every frame, a server none.
  if (context.receiver == Role::server && !header.masked) return errc::mask_required;
  if (context.receiver == Role::client && header.masked) return errc::mask_forbidden;
  if (is_control(header.opcode)) {
    // RFC 6455 5.5: control frames are never fragmented and carry at most 125 bytes.
    if (!header.fin) return errc::control_frame_fragmented;
    if (header.payload_length > 125) return errc::control_frame_too_long;
    return {};
  }
  // RFC 6455 5.4: continuation only inside a message, and no new message
  // until the current one has ended.
  if (header.opcode == Opcode::continuation) {
    if (!context.message_in_progress) return errc::unexpected_continuation;
  } else if (context.message_in_progress) {
    return errc::message_not_finished;
  }
  return {};
}

}  // namespace ws
