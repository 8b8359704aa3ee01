// A server message framed once and shared by many connections (channels):
// every connection that sends it queues a reference to the same bytes.
#pragma once

#include <memory>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/event.hpp"

namespace ws {

/// An unmasked, unfragmented frame ready to be written as it is. Immutable
/// after creation, so it may be shared across threads.
class PreparedMessage {
 public:
  /// Frames `payload` once as a single server frame of the given kind.
  static std::shared_ptr<const PreparedMessage> make(MessageKind kind, ByteView payload);

  /// The whole frame: header and payload.
  ByteView frame() const noexcept { return frame_; }
  MessageKind kind() const noexcept { return kind_; }
  std::size_t payload_size() const noexcept { return payload_size_; }

 private:
  PreparedMessage() = default;
  std::vector<std::byte> frame_;
  MessageKind kind_ = MessageKind::binary;
  std::size_t payload_size_ = 0;
};

}  // namespace ws
