// The permessage-deflate codec of one connection (RFC 7692 7.2): raw
// deflate streams, the 00 00 ff ff tail removed after compressing a message
// and put back before inflating one, context kept or reset per message.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <string>

#include "ws/base/error.hpp"
#include "ws/deflate/deflate.hpp"
#include "ws/frame/frame_header.hpp"

namespace ws::deflate {
namespace {

// RFC 7692 7.2.1: the tail a sync flush ends with.
constexpr std::array<std::byte, 4> sync_tail{std::byte{0x00}, std::byte{0x00}, std::byte{0xFF},
                                             std::byte{0xFF}};

// zlib counts in uInt; feed it at most this much per call.
constexpr std::size_t max_chunk = 1U << 30;

uInt chunk_size(std::size_t n) noexcept { return static_cast<uInt>(std::min(n, max_chunk)); }

Bytef* as_zlib(std::byte* p) noexcept { return reinterpret_cast<Bytef*>(p); }
// zlib's next_in is not const in its older declarations; it does not write.
Bytef* as_zlib(const std::byte* p) noexcept {
  return reinterpret_cast<Bytef*>(const_cast<std::byte*>(p));
}

class DeflateSession final : public ExtensionSession {
 public:
  DeflateSession(Role role, const Parameters& agreed, const Options& options)
      : level_(std::clamp(options.level, 0, 9)), mem_level_(std::clamp(options.mem_level, 1, 9)) {
    const bool server = role == Role::server;
    const int own_bits = server ? agreed.server_max_window_bits : agreed.client_max_window_bits;
    deflate_bits_ = std::clamp(std::min(own_bits, options.max_window_bits), 9, 15);
    deflate_reset_ = server ? agreed.server_no_context_takeover : agreed.client_no_context_takeover;
    deflate_reset_ = deflate_reset_ || options.no_context_takeover;
    inflate_bits_ =
        std::clamp(server ? agreed.client_max_window_bits : agreed.server_max_window_bits, 8, 15);
    inflate_reset_ = server ? agreed.client_no_context_takeover : agreed.server_no_context_takeover;
    min_size_ = options.min_size;
    if (deflate_reset_) {
      // Every message is compressed from a fresh context: what a decoder
      // needs is only the window.
      shared_encoding_ = "permessage-deflate; window_bits=" + std::to_string(deflate_bits_);
    }
  }

  DeflateSession(const DeflateSession&) = delete;
  DeflateSession& operator=(const DeflateSession&) = delete;

  ~DeflateSession() override {
    if (deflate_ready_) deflateEnd(&deflate_);
    if (inflate_ready_) inflateEnd(&inflate_);
  }

  std::uint8_t reserved_bits() const noexcept override { return rsv1; }

  CodecStep decode(ByteView in, MutableByteView out, bool last) override {
    CodecStep step;
    if (!inflate_ready_) {
      inflate_ = z_stream{};
      // Raw deflate (negative bits) with the window the peer agreed to use.
      if (inflateInit2(&inflate_, -inflate_bits_) != Z_OK) {
        step.error = make_error_code(errc::extension_failed);
        return step;
      }
      inflate_ready_ = true;
    }
    inflate_.next_out = as_zlib(out.data());
    inflate_.avail_out = chunk_size(out.size());
    const uInt out_before = inflate_.avail_out;
    if (!in.empty()) {
      // The message's own bytes.
      inflate_.next_in = as_zlib(in.data());
      inflate_.avail_in = chunk_size(in.size());
      const uInt in_before = inflate_.avail_in;
      const int result = ::inflate(&inflate_, Z_SYNC_FLUSH);
      step.consumed = in_before - inflate_.avail_in;
      step.produced = out_before - inflate_.avail_out;
      if (result == Z_STREAM_END) {
        // The peer ended a stream with a final block (BFINAL); what follows
        // starts a new one.
        inflateReset(&inflate_);
      } else if (result != Z_OK && result != Z_BUF_ERROR) {
        return failed(step);  // Z_DATA_ERROR: corrupt, or a distance past the window
      }
      return step;
    }
    if (!last) return step;
    // RFC 7692 7.2.2: the end of the message; put back the tail the sender
    // removed.
    inflate_.next_in = as_zlib(sync_tail.data() + tail_used_);
    inflate_.avail_in = chunk_size(sync_tail.size() - tail_used_);
    const uInt in_before = inflate_.avail_in;
    const int result = ::inflate(&inflate_, Z_SYNC_FLUSH);
    const std::size_t consumed = in_before - inflate_.avail_in;
    tail_used_ += consumed;
    step.produced = out_before - inflate_.avail_out;
    if (result == Z_STREAM_END) {
      // The message ended with a final block: the tail was padding.
      inflateReset(&inflate_);
      tail_used_ = 0;
      step.finished = true;
      return step;
    }
    if (result != Z_OK && result != Z_BUF_ERROR) return failed(step);
    if (tail_used_ == sync_tail.size() && inflate_.avail_out > 0) {
      // All of the message is out: zlib had room to spare.
      step.finished = true;
      tail_used_ = 0;
      if (inflate_reset_) inflateReset(&inflate_);
    } else if (consumed == 0 && step.produced == 0) {
      return failed(step);
    }
    return step;
  }

  bool should_encode(MessageKind, std::size_t size) const noexcept override {
    return size >= min_size_;
  }

  std::error_code encode(ByteView in, bool last, std::vector<std::byte>& out) override {
    if (!deflate_ready_) {
      deflate_ = z_stream{};
      if (deflateInit2(&deflate_, level_, Z_DEFLATED, -deflate_bits_, mem_level_,
                       Z_DEFAULT_STRATEGY) != Z_OK) {
        return errc::extension_failed;
      }
      deflate_ready_ = true;
    }
    const std::size_t start = out.size();
    std::size_t offset = 0;
    for (;;) {
      const std::size_t input_left = in.size() - offset;
      const std::size_t room = std::max<std::size_t>(1024, input_left / 2 + 64);
      const std::size_t used = out.size();
      out.resize(used + room);
      deflate_.next_in = as_zlib(in.data() + offset);
      deflate_.avail_in = chunk_size(input_left);
      deflate_.next_out = as_zlib(out.data() + used);
      deflate_.avail_out = chunk_size(room);
      const uInt in_before = deflate_.avail_in;
      const bool whole_input = input_left <= max_chunk;
      const int result = ::deflate(&deflate_, whole_input ? Z_SYNC_FLUSH : Z_NO_FLUSH);
      offset += in_before - deflate_.avail_in;
      out.resize(out.size() - deflate_.avail_out);
      if (result != Z_OK && result != Z_BUF_ERROR) return errc::extension_failed;
      // Done when all input went in and the flush fit in the room given.
      if (offset == in.size() && deflate_.avail_out > 0) break;
    }
    if (!last) return {};
    // RFC 7692 7.2.1: drop the tail of the final flush.
    if (out.size() - start >= sync_tail.size() &&
        std::equal(sync_tail.begin(), sync_tail.end(), out.end() - 4)) {
      out.resize(out.size() - sync_tail.size());
    }
    // 7.2.3.6: an empty message is sent as one 0x00 byte.
    if (out.size() == start) out.push_back(std::byte{0x00});
    if (deflate_reset_) deflateReset(&deflate_);
    return {};
  }

  std::string_view shared_encoding() const noexcept override { return shared_encoding_; }

  std::size_t max_encoded_size(std::size_t size) const noexcept override {
    // Stored blocks cost 5 bytes per 16 KiB at worst; the sync flush and
    // the empty-message byte a few more.
    return size + size / 1024 + 64;
  }

 private:
  CodecStep failed(CodecStep step) noexcept {
    inflateReset(&inflate_);
    tail_used_ = 0;
    step.error = make_error_code(errc::extension_failed);
    return step;
  }

  int level_;
  int mem_level_;
  int deflate_bits_ = 15;
  bool deflate_reset_ = false;
  int inflate_bits_ = 15;
  bool inflate_reset_ = false;
  std::size_t min_size_ = 0;
  std::string shared_encoding_;

  z_stream deflate_{};
  bool deflate_ready_ = false;
  z_stream inflate_{};
  bool inflate_ready_ = false;
  std::size_t tail_used_ = 0;  // bytes of sync_tail fed for the current message
};

}  // namespace

std::unique_ptr<ExtensionSession> make_session(Role role, const Parameters& agreed,
                                               const Options& options) {
  return std::make_unique<DeflateSession>(role, agreed, options);
}

std::shared_ptr<const PreparedMessage> prepare(MessageKind kind, ByteView payload,
                                               const Options& options) {
  Parameters agreed;
  agreed.server_no_context_takeover = true;
  agreed.server_max_window_bits = options.max_window_bits;
  DeflateSession session(Role::server, agreed, options);
  std::vector<std::byte> encoded;
  if (session.encode(payload, true, encoded)) return PreparedMessage::make(kind, payload);
  return PreparedMessage::make_with_encoding(kind, payload, std::string(session.shared_encoding()),
                                             rsv1, encoded);
}

}  // namespace ws::deflate
