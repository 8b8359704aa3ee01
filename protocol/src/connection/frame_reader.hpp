// The frame reader: the bytes received and not yet parsed, the header of the
// frame whose payload is being read, and the space offered for reads. It
// knows frames, not messages: what a payload byte becomes (part of a message
// joined in the assembler, a piece handed out, a control frame) is decided
// by the receive routes in connection_receive.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/byte_buffer.hpp"
#include "ws/base/bytes.hpp"
#include "ws/base/utf8_validator.hpp"
#include "ws/frame/frame_header.hpp"

namespace ws::detail {

class FrameReader {
 public:
  // ---- the input buffer: bytes [begin, size) are unparsed ----
  ByteView unparsed() const noexcept { return {input_.data() + begin_, input_.size() - begin_}; }
  MutableByteView unparsed() noexcept { return {input_.data() + begin_, input_.size() - begin_}; }
  std::size_t unparsed_size() const noexcept { return input_.size() - begin_; }
  bool drained() const noexcept { return begin_ == input_.size(); }
  /// The first n unparsed bytes were parsed (a header, a payload taken in place).
  void skip(std::size_t n) noexcept { begin_ += n; }
  /// Drops every unparsed byte (after a close or a failure nothing is parsed).
  void skip_all() noexcept { begin_ = input_.size(); }
  /// Drops the buffer's contents, keeping its memory.
  void discard() noexcept {
    input_.clear();
    begin_ = 0;
  }
  /// Bytes held against the input limit: unparsed ones, and those receive()
  /// took past the buffer since next_event() last ran.
  std::size_t held() const noexcept { return unparsed_size() + taken_directly; }
  std::size_t buffer_size() const noexcept { return input_.size(); }
  /// Bytes the application read past a request head (accept_upgrade): all kept.
  void preload(ByteView bytes, std::size_t limit);

  /// receive(): copies what fits under `limit` to the buffer; returns how many.
  std::size_t append(ByteView bytes, std::size_t limit);
  /// receive_buffer(): free space at the end of the buffer, sized to the
  /// traffic within `limit` (see Connection::receive_buffer).
  MutableByteView offer(std::size_t limit);
  /// receive_buffer() once closed: a small space whose bytes are dropped.
  MutableByteView offer_for_discard();
  /// commit_received() after offer().
  void commit(std::size_t n) noexcept;
  /// Frees the buffer when nothing in it waits to be parsed.
  void release_if_drained() noexcept;

  // ---- the frame whose payload is being read ----
  bool in_payload() const noexcept { return in_payload_; }
  const FrameHeader& frame() const noexcept { return frame_; }
  std::uint64_t frame_remaining() const noexcept { return frame_remaining_; }
  /// A header that passed the rules: its payload is read next.
  void begin_frame(const FrameHeader& header) noexcept {
    frame_ = header;
    frame_remaining_ = header.payload_length;
    mask_offset_ = 0;
    in_payload_ = true;
  }
  /// The frame is done with: the next bytes are a header.
  void end_frame() noexcept { in_payload_ = false; }
  /// Payload bytes of the current frame moved from `from` to `to` (the same
  /// place, or a copy), unmasked on the way; with `text` they are validated
  /// in the same pass (RFC 6455 8.1: a failure stays in the validator).
  /// Counts them off the frame; the caller ends the frame (end_frame) once
  /// it has dealt with the last byte (a finished message may wait first).
  void unmask_payload(MutableByteView to, ByteView from, Utf8Validator* text) noexcept;
  /// The next n unparsed bytes as payload, unmasked in place and parsed.
  MutableByteView take_payload(std::size_t n, Utf8Validator* text) noexcept {
    const MutableByteView piece(input_.data() + begin_, n);
    unmask_payload(piece, piece, text);
    begin_ += n;
    return piece;
  }

  // ---- what receive() and receive_buffer() handed past the input buffer ----
  // Bytes receive() copied straight into the message since next_event() last
  // ran (they count against the input limit until then).
  std::size_t taken_directly = 0;
  // receive_buffer() handed out space in the message buffer, not the input.
  bool offered_message_space = false;

 private:
  ByteBuffer input_;
  std::size_t begin_ = 0;
  FrameHeader frame_{};
  std::uint64_t frame_remaining_ = 0;
  std::size_t mask_offset_ = 0;
  // The size of the space the last offer() handed out, and whether the read
  // that followed filled it (the next offer doubles).
  std::size_t offered_ = 0;
  bool in_payload_ = false;
  bool read_filled_offer_ = false;
};

}  // namespace ws::detail
