// The WebSocket frame header (RFC 6455 5.2): encoding and decoding of all
// three payload length forms, masked and unmasked.
//
// This layer can be used alone, after a handshake done elsewhere. It checks
// only what the header bytes themselves can tell (length encoding); the
// rules that depend on the role, on negotiated extensions and on the message
// in progress are in frame_rules.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

#include "ws/base/bytes.hpp"
#include "ws/frame/masking.hpp"

namespace ws {

/// Frame opcodes (RFC 6455 5.2). Values 3-7 and 11-15 are reserved; a decoded
/// header may carry them, and frame_rules rejects them.
enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

/// True for close, ping, pong and the reserved control opcodes 11-15.
constexpr bool is_control(Opcode opcode) noexcept {
  return (static_cast<std::uint8_t>(opcode) & 0x8U) != 0;
}

/// RSV bits as they sit in the first header byte, shifted down: RSV1 = 4,
/// RSV2 = 2, RSV3 = 1.
enum ReservedBits : std::uint8_t { rsv_none = 0, rsv3 = 1, rsv2 = 2, rsv1 = 4 };

struct FrameHeader {
  bool fin = true;
  std::uint8_t reserved_bits = rsv_none;  // combination of ReservedBits
  Opcode opcode = Opcode::binary;
  bool masked = false;
  MaskKey mask_key{};  // meaningful only when masked
  std::uint64_t payload_length = 0;

  friend bool operator==(const FrameHeader&, const FrameHeader&) = default;
};

/// 2 bytes + 8 bytes of extended length + 4 bytes of mask key.
inline constexpr std::size_t max_frame_header_size = 14;
/// RFC 6455 5.2: the 64-bit length form has its most significant bit clear.
inline constexpr std::uint64_t max_payload_length = (std::uint64_t{1} << 63) - 1;

/// Size of the header that encode_frame_header writes for these values.
constexpr std::size_t frame_header_size(std::uint64_t payload_length, bool masked) noexcept {
  const std::size_t length_bytes = payload_length <= 125 ? 0 : payload_length <= 0xFFFF ? 2 : 8;
  return 2 + length_bytes + (masked ? 4 : 0);
}

/// Writes `header` in its shortest form to `out` and returns the number of
/// bytes written (2 to 14). payload_length must be at most max_payload_length
/// (larger values are truncated to 63 bits; the caller checks).
std::size_t encode_frame_header(const FrameHeader& header,
                                std::span<std::byte, max_frame_header_size> out) noexcept;

enum class HeaderStatus : std::uint8_t {
  complete,    // header and header_size are set
  incomplete,  // more bytes are needed; nothing was consumed
  invalid,     // error is set; the stream cannot be parsed further
};

struct HeaderDecodeResult {
  HeaderStatus status = HeaderStatus::incomplete;
  FrameHeader header{};
  std::size_t header_size = 0;
  std::error_code error{};
};

/// Decodes the header at the start of `input`. Never reads past `input`.
/// Errors: errc::length_high_bit_set, errc::non_minimal_length (RFC 6455 5.2
/// requires the shortest length form).
HeaderDecodeResult decode_frame_header(ByteView input) noexcept;

}  // namespace ws
