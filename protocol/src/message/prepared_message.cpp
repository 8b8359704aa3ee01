#include "ws/message/prepared_message.hpp"

#include <cstring>

#include "ws/frame/frame_header.hpp"

namespace ws {

std::shared_ptr<const PreparedMessage> PreparedMessage::make(MessageKind kind, ByteView payload) {
  return frame_once(kind, rsv_none, payload);
}

std::shared_ptr<const PreparedMessage> PreparedMessage::make_with_encoding(
    MessageKind kind, ByteView payload, std::string encoding, std::uint8_t reserved_bits,
    ByteView encoded_payload) {
  std::shared_ptr<PreparedMessage> message = frame_once(kind, rsv_none, payload);
  message->encoded_ = frame_once(kind, reserved_bits, encoded_payload);
  message->encoding_ = std::move(encoding);
  return message;
}

std::shared_ptr<PreparedMessage> PreparedMessage::frame_once(MessageKind kind,
                                                             std::uint8_t reserved_bits,
                                                             ByteView payload) {
  std::shared_ptr<PreparedMessage> message(new PreparedMessage());
  FrameHeader header;
  header.reserved_bits = reserved_bits;
  header.opcode = kind == MessageKind::text ? Opcode::text : Opcode::binary;
  header.payload_length = payload.size();
  std::array<std::byte, max_frame_header_size> head{};
  const std::size_t head_size = encode_frame_header(header, head);
  message->frame_.resize(head_size + payload.size());
  std::memcpy(message->frame_.data(), head.data(), head_size);
  if (!payload.empty()) {
    std::memcpy(message->frame_.data() + head_size, payload.data(), payload.size());
  }
  message->kind_ = kind;
  message->payload_size_ = payload.size();
  return message;
}

}  // namespace ws
