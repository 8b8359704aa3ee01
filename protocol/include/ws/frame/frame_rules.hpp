// The rules a received frame header must obey beyond its encoding
// (RFC 6455 5.1, 5.2, 5.4, 5.5): which role masks, reserved bits and
// opcodes, control frame limits and the order of fragments.
#pragma once

#include <cstdint>
#include <system_error>

#include "ws/base/role.hpp"
#include "ws/frame/frame_header.hpp"

namespace ws {

struct FrameContext {
  Role receiver = Role::server;
  /// RSV bits claimed by negotiated extensions (ReservedBits combination).
  std::uint8_t allowed_reserved_bits = rsv_none;
  /// A fragmented data message has started and not yet ended.
  bool message_in_progress = false;
};

/// Checks `header` as received by `context.receiver`. Returns the first
/// broken rule: errc::reserved_bits_set, errc::reserved_opcode,
/// errc::control_frame_fragmented, errc::control_frame_too_long,
/// errc::mask_required, errc::mask_forbidden, errc::unexpected_continuation,
/// errc::message_not_finished. Size limits are the Connection's business.
std::error_code check_frame_header(const FrameHeader& header, const FrameContext& context) noexcept;

}  // namespace ws
