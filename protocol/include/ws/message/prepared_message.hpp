// A server message framed once and shared by many connections (channels):
// every connection that sends it queues a reference to the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/message/message_kind.hpp"

namespace ws {

/// An unmasked, unfragmented frame ready to be written as it is. Immutable
/// after creation, so it may be shared across threads.
class PreparedMessage {
 public:
  /// Frames `payload` once as a single server frame of the given kind.
  static std::shared_ptr<const PreparedMessage> make(MessageKind kind, ByteView payload);

  /// The same, plus a variant whose payload an extension already encoded
  /// (`encoded_payload`, framed with `reserved_bits`). A connection whose
  /// ExtensionSession::shared_encoding() equals `encoding` queues the
  /// variant by reference, so the message is encoded once for all such
  /// connections (ws::deflate::prepare makes these); other connections send
  /// the plain frame, or encode it for themselves.
  static std::shared_ptr<const PreparedMessage> make_with_encoding(MessageKind kind,
                                                                   ByteView payload,
                                                                   std::string encoding,
                                                                   std::uint8_t reserved_bits,
                                                                   ByteView encoded_payload);

  /// The whole frame: header and payload.
  ByteView frame() const noexcept { return frame_; }
  /// The payload inside frame(): its last payload_size() bytes. For the
  /// encoded variant that is the encoded payload.
  ByteView payload() const noexcept { return frame().last(payload_size_); }
  MessageKind kind() const noexcept { return kind_; }
  std::size_t payload_size() const noexcept { return payload_size_; }
  /// The RSV1-RSV3 bits of the frame (RFC 6455 5.2), read from its first
  /// header byte, as a combination of ws::ReservedBits (rsv1 = 4, rsv2 = 2,
  /// rsv3 = 1, as in FrameHeader::reserved_bits). rsv_none for the plain
  /// frame; the encoded variant carries the bits make_with_encoding() was
  /// given (permessage-deflate: rsv1).
  std::uint8_t reserved_bits() const noexcept {
    return static_cast<std::uint8_t>((std::to_integer<unsigned>(frame_.front()) >> 4) & 0x7U);
  }
  /// The encoded variant (a frame of its own), or null.
  const std::shared_ptr<const PreparedMessage>& encoded() const noexcept { return encoded_; }
  /// What the encoded variant needs of a connection; empty without one.
  std::string_view encoding() const noexcept { return encoding_; }

 private:
  PreparedMessage() = default;
  static std::shared_ptr<PreparedMessage> frame_once(MessageKind kind, std::uint8_t reserved_bits,
                                                     ByteView payload);
  std::vector<std::byte> frame_;
  std::shared_ptr<const PreparedMessage> encoded_;
  std::string encoding_;
  MessageKind kind_ = MessageKind::binary;
  std::size_t payload_size_ = 0;
};

}  // namespace ws
