// The message assembler: the data message being received (its kind, size so
// far and UTF-8 state), the buffer its fragments are joined (or decoded)
// into, and one finished message parked while the next is joined. It knows
// messages, not frames: the frame reader hands it payload bytes already
// unmasked (see the receive routes in connection_receive.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/byte_buffer.hpp"
#include "ws/base/utf8_validator.hpp"
#include "ws/event.hpp"

namespace ws::detail {

class MessageAssembler {
 public:
  // ---- the message being received ----
  bool open() const noexcept { return open_; }
  MessageKind kind() const noexcept { return kind_; }
  bool is_text() const noexcept { return kind_ == MessageKind::text; }
  /// Payload bytes received (or decoded) so far.
  std::uint64_t size() const noexcept { return size_; }
  /// The validator for text, null for binary: what FrameReader wants.
  Utf8Validator* text_validator() noexcept { return is_text() ? &utf8_ : nullptr; }
  /// Whether the text so far (or whole, with `complete`) can be UTF-8.
  bool text_valid(bool complete) const noexcept {
    return !is_text() || (!utf8_.has_failed() && (!complete || utf8_.is_complete()));
  }

  /// A data frame starting a message (RFC 6455 5.4).
  void begin(MessageKind kind) noexcept {
    open_ = true;
    kind_ = kind;
    size_ = 0;
    started_delivery_ = false;
    utf8_.reset();
  }
  void count(std::size_t n) noexcept { size_ += n; }
  /// The message's last byte was received and checked.
  void end() noexcept { open_ = false; }
  /// Streamed delivery: whether this piece is the message's first.
  bool first_piece() noexcept {
    const bool first = !started_delivery_;
    started_delivery_ = true;
    return first;
  }

  // ---- the buffer messages are joined in ----
  ByteBuffer& buffer() noexcept { return buffer_; }
  ByteView joined() const noexcept { return {buffer_.data(), buffer_.size()}; }
  /// Room for n more bytes at the end of the joined ones, counted as held.
  MutableByteView extend(std::size_t n) {
    const std::size_t held = buffer_.size();
    buffer_.resize(held + n);
    return {buffer_.data() + held, n};
  }
  /// The joined bytes as a Message; they stay until the next call
  /// (settle_delivered()).
  Message deliver(bool first = true, bool last = true) noexcept {
    delivered_ = true;
    return Message{kind_, joined(), first, last};
  }
  /// The joined bytes were handed out and are still visible.
  bool delivered() const noexcept { return delivered_; }

  // ---- a finished message waiting while the next is joined ----
  /// Moves the finished message aside so the next can be joined; false
  /// when it may not (one at most, none larger than `limit`, no broken text).
  bool park(std::size_t limit) noexcept;
  bool parked_ready() const noexcept { return parked_ready_; }
  /// The parked message; its bytes stay until the next call (settle_parked()).
  Message take_parked() noexcept {
    parked_ready_ = false;
    parked_delivered_ = true;
    return Message{parked_kind_, ByteView(parked_.data(), parked_.size()), true, true};
  }
  std::size_t parked_size() const noexcept { return parked_.size(); }
  /// Dropped with the input it would have been parsed from (a failure).
  void drop_parked() noexcept { parked_ready_ = false; }

  /// Something was handed out or parked: the settle_ functions have work.
  bool unsettled() const noexcept { return delivered_ || parked_ready_ || parked_delivered_; }
  /// Frees what the last event handed out, at the start of the next call.
  void settle_parked() noexcept {
    if (parked_delivered_) {
      parked_.clear();
      parked_delivered_ = false;
    }
  }
  void settle_delivered() noexcept {
    if (delivered_) {
      buffer_.clear();
      delivered_ = false;
    }
  }
  /// Frees the buffers that hold nothing in use.
  void release_idle() noexcept;

 private:
  ByteBuffer buffer_;
  ByteBuffer parked_;
  std::uint64_t size_ = 0;
  Utf8Validator utf8_;
  MessageKind kind_ = MessageKind::binary;
  MessageKind parked_kind_ = MessageKind::binary;
  bool open_ = false;
  bool started_delivery_ = false;
  bool delivered_ = false;
  bool parked_ready_ = false;
  bool parked_delivered_ = false;
};

}  // namespace ws::detail
