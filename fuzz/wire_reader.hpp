// An independent reader of the bytes a Connection writes, for the fuzzers'
// checks. Written from RFC 6455 5.2-5.5 without the library's decoder: every
// frame this side sends must be one a conforming peer accepts, and nothing
// may follow a close frame (RFC 6455 5.5.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "check.hpp"
#include "reference_utf8.hpp"
#include "ws/connection.hpp"

namespace fuzz {

class WireReader {
 public:
  /// `sender` is the role of the Connection whose output is read: a client
  /// masks every frame, a server none. With `http_head`, the output starts
  /// with an HTTP head (the opening handshake), kept in head().
  WireReader(ws::Role sender, bool http_head) : sender_(sender), in_head_(http_head) {}

  /// Takes up to `max` pending bytes from `c` (all of them when max is 0),
  /// consumes them and checks the frames they complete.
  void drain(ws::Connection& c, std::size_t max = 0) {
    std::size_t want = max == 0 ? c.pending_output_size() : std::min(max, c.pending_output_size());
    const std::size_t taken = want;
    for (const ws::OutputBuffer& piece : c.pending_output()) {
      if (want == 0) break;
      const std::size_t n = std::min(want, piece.size);
      const auto* p = reinterpret_cast<const std::uint8_t*>(piece.data);
      buffer_.insert(buffer_.end(), p, p + n);
      want -= n;
    }
    check(want == 0);  // pending_output() holds pending_output_size() bytes
    c.consume_output(taken);
    parse();
  }

  const std::string& head() const { return head_; }
  bool head_done() const { return !in_head_; }
  /// Payloads of the pongs sent, oldest first (the harness pops them).
  std::deque<std::vector<std::uint8_t>>& pongs() { return pongs_; }
  /// How many pings were sent.
  std::size_t pings() const { return pings_; }
  bool close_seen() const { return close_seen_; }
  /// The code in the close frame sent; nullopt for an empty close payload.
  std::optional<std::uint16_t> close_code() const { return close_code_; }
  std::size_t frames() const { return frames_; }
  /// True when every byte read so far belongs to a complete frame.
  bool at_frame_boundary() const { return buffer_.empty(); }

 private:
  void parse() {
    if (in_head_) {
      const std::string_view text(reinterpret_cast<const char*>(buffer_.data()), buffer_.size());
      const std::size_t end = text.find("\r\n\r\n");
      if (end == std::string_view::npos) return;
      head_.assign(text.substr(0, end + 4));
      buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(end + 4));
      in_head_ = false;
    }
    while (parse_frame()) {
    }
  }

  // Parses one complete frame off the front of buffer_; false when more
  // bytes are needed.
  bool parse_frame() {
    if (buffer_.empty()) return false;
    check(!close_seen_);  // RFC 6455 5.5.1: nothing after a close frame
    if (buffer_.size() < 2) return false;
    const std::uint8_t b0 = buffer_[0];
    const std::uint8_t b1 = buffer_[1];
    const bool fin = (b0 & 0x80U) != 0;
    check((b0 & 0x70U) == 0);  // no extension negotiated: RSV bits clear
    const unsigned opcode = b0 & 0x0FU;
    check(opcode <= 2 || (opcode >= 8 && opcode <= 10));
    const bool masked = (b1 & 0x80U) != 0;
    check(masked == (sender_ == ws::Role::client));  // RFC 6455 5.1
    std::uint64_t length = b1 & 0x7FU;
    std::size_t at = 2;
    if (length == 126) {
      if (buffer_.size() < 4) return false;
      length = std::uint64_t{buffer_[2]} << 8 | buffer_[3];
      check(length >= 126);  // RFC 6455 5.2: shortest form
      at = 4;
    } else if (length == 127) {
      if (buffer_.size() < 10) return false;
      length = 0;
      for (std::size_t i = 2; i < 10; ++i) length = length << 8 | buffer_[i];
      check(length > 0xFFFF && (length >> 63) == 0);
      at = 10;
    }
    std::uint8_t key[4] = {0, 0, 0, 0};
    if (masked) {
      if (buffer_.size() < at + 4) return false;
      for (std::size_t i = 0; i < 4; ++i) key[i] = buffer_[at + i];
      at += 4;
    }
    if (buffer_.size() - at < length) return false;
    std::vector<std::uint8_t> payload(buffer_.begin() + static_cast<std::ptrdiff_t>(at),
                                      buffer_.begin() + static_cast<std::ptrdiff_t>(at + length));
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] ^= key[i % 4];
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(at + length));
    ++frames_;
    if (std::getenv("FUZZ_TRACE") != nullptr) {
      std::fprintf(stderr, "wire: opcode %u fin %d length %zu\n", opcode, fin ? 1 : 0,
                   payload.size());
    }

    if (opcode >= 8) {
      check(fin && length <= 125);  // RFC 6455 5.5
      if (opcode == 8) on_close(payload);
      if (opcode == 9) ++pings_;
      if (opcode == 10) pongs_.push_back(std::move(payload));
      return true;
    }
    // RFC 6455 5.4: a continuation only inside a message, a new message only
    // outside one.
    check((opcode == 0) == message_open_);
    message_open_ = !fin;
    return true;
  }

  void on_close(const std::vector<std::uint8_t>& payload) {
    close_seen_ = true;
    check(payload.size() != 1);
    if (payload.empty()) return;
    const auto code = static_cast<std::uint16_t>(payload[0] << 8 | payload[1]);
    // RFC 6455 7.4.1/7.4.2: codes that may be sent.
    check((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
          (code >= 3000 && code <= 4999));
    const ws::ByteView reason(reinterpret_cast<const std::byte*>(payload.data() + 2),
                              payload.size() - 2);
    check(reference_utf8(reason).valid);
    close_code_ = code;
  }

  ws::Role sender_;
  bool in_head_;
  std::string head_;
  std::vector<std::uint8_t> buffer_;
  std::deque<std::vector<std::uint8_t>> pongs_;
  bool message_open_ = false;
  bool close_seen_ = false;
  std::optional<std::uint16_t> close_code_;
  std::size_t frames_ = 0;
  std::size_t pings_ = 0;
};

}  // namespace fuzz
