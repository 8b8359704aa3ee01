// The send route: frames are built straight into the sender's output queue
// (masked while copied, for a client), or queued by reference when prepared
// once; Config::auto_fragment_size splits large messages into frames.
#include "connection/connection_impl.hpp"

namespace ws {

using Placement = detail::OutputQueue::Placement;

std::error_code Connection::Impl::check_can_send(std::size_t queued_size) const noexcept {
  // RFC 6455 5.5.1: nothing but the close goes out after a close.
  if (phase() != detail::Phase::open) return errc::not_open;
  if (queued_size > config.limits.max_queued_output ||
      sender.queue.size() > config.limits.max_queued_output - queued_size) {
    return errc::output_queue_full;
  }
  return {};
}

void Connection::Impl::queue_frame(Opcode opcode, bool fin, ByteView payload, Placement placement,
                                   std::uint8_t reserved_bits) {
  FrameHeader header;
  header.fin = fin;
  header.reserved_bits = reserved_bits;
  header.opcode = opcode;
  header.payload_length = payload.size();
  if (role() == Role::client) {
    // RFC 6455 5.3: a fresh, unpredictable key for every client frame.
    header.masked = true;
    random_fill(MutableByteView(header.mask_key));
  }
  sender.queue.push_frame(header, payload, placement);
}

void Connection::Impl::queue_close(CloseCode code, std::string_view reason) {
  std::array<std::byte, 2 + max_close_reason_size> payload{};
  std::size_t size = 0;
  if (code != CloseCode::no_status) {
    const auto value = static_cast<std::uint16_t>(code);
    payload[0] = static_cast<std::byte>(value >> 8);
    payload[1] = static_cast<std::byte>(value & 0xFFU);
    std::copy_n(as_bytes(reason).begin(), reason.size(), payload.begin() + 2);
    size = 2 + reason.size();
  }
  queue_frame(Opcode::close, true, ByteView(payload.data(), size), Placement::back);
  lifecycle.sent_close_code = code;
}

std::error_code Connection::Impl::send_data(MessageKind kind, ByteView payload, Fin fin) {
  if (extension) {
    // The extension decides once per message (at its first piece).
    if (!sender.message_open)
      extension->sending = extension->session->should_encode(kind, payload.size());
    if (extension->sending) return send_encoded(kind, payload, fin);
  }
  // Without auto-fragmentation (the common case) the size is one header more.
  const std::size_t queued =
      config.auto_fragment_size == 0
          ? payload.size() + frame_header_size(payload.size(), role() == Role::client)
          : framed_size(payload.size());
  if (const std::error_code error = check_can_send(queued)) return error;
  if (sender.message_open && sender.kind != kind) return errc::message_in_progress;
  queue_data_frames(sender.next_opcode(kind), rsv_none, payload, fin == Fin::yes);
  sender.sent(kind, fin == Fin::yes);
  return {};
}

std::size_t Connection::Impl::framed_size(std::size_t payload_size) const noexcept {
  const std::size_t fragment = config.auto_fragment_size;
  const std::size_t frames =
      fragment == 0 || payload_size == 0 ? 1 : (payload_size + fragment - 1) / fragment;
  const bool masked = role() == Role::client;
  // Full fragments, then the last one.
  const std::size_t last_piece =
      frames == 1 ? payload_size : payload_size - (frames - 1) * fragment;
  return payload_size + (frames - 1) * frame_header_size(fragment, masked) +
         frame_header_size(last_piece, masked);
}

// Queues `payload` as one frame, or as frames of Config::auto_fragment_size;
// `first_reserved_bits` go on the first of them only.
void Connection::Impl::queue_data_frames(Opcode opcode, std::uint8_t first_reserved_bits,
                                         ByteView payload, bool fin) {
  const std::size_t fragment = config.auto_fragment_size;
  const std::size_t frames =
      fragment == 0 || payload.empty() ? 1 : (payload.size() + fragment - 1) / fragment;
  std::uint8_t bits = first_reserved_bits;
  for (std::size_t i = 0; i < frames; ++i) {
    const ByteView piece = frames == 1
                               ? payload
                               : payload.subspan(i * fragment)
                                     .first(std::min(fragment, payload.size() - i * fragment));
    const bool last = i + 1 == frames;
    queue_frame(opcode, last && fin, piece, Placement::back, bits);
    opcode = Opcode::continuation;
    bits = rsv_none;
  }
}

std::error_code Connection::send_text(std::string_view text, Fin fin) {
  return impl_->send_data(MessageKind::text, as_bytes(text), fin);
}

std::error_code Connection::send_binary(ByteView data, Fin fin) {
  return impl_->send_data(MessageKind::binary, data, fin);
}

std::error_code Connection::send_prepared(std::shared_ptr<const PreparedMessage> message) {
  Impl& c = *impl_;
  if (c.role() == Role::client) return errc::wrong_role;
  if (c.extension && !c.sender.message_open &&
      c.extension->session->should_encode(message->kind(), message->payload_size())) {
    const std::string_view shared = c.extension->session->shared_encoding();
    if (message->encoded() && !shared.empty() && shared == message->encoding()) {
      // Encoded once for every connection like this one: share those bytes.
      message = message->encoded();
    } else {
      // This connection encodes the payload for itself (its context is its own).
      c.extension->sending = true;
      return c.send_encoded(message->kind(), message->payload(), Fin::yes);
    }
  }
  const std::size_t payload_size = message->payload_size();
  const std::size_t fragment = c.config.auto_fragment_size;
  if (fragment != 0 && payload_size > fragment) {
    // Config::auto_fragment_size holds for shared messages too (so pings can
    // go out between the pieces): their payload is framed again here, the
    // extension's bit (if the encoded variant was chosen) on the first frame.
    if (const std::error_code error = c.check_can_send(c.framed_size(payload_size))) return error;
    if (c.sender.message_open) return errc::message_in_progress;
    const Opcode opcode = message->kind() == MessageKind::text ? Opcode::text : Opcode::binary;
    c.queue_data_frames(opcode, message->reserved_bits(), message->payload(), true);
    return {};
  }
  if (const std::error_code error = c.check_can_send(message->frame().size())) return error;
  if (c.sender.message_open) return errc::message_in_progress;
  c.sender.queue.push_prepared(std::move(message));
  return {};
}

std::error_code Connection::Impl::send_control(Opcode opcode, ByteView payload) {
  if (payload.size() > 125) return errc::control_payload_too_long;  // RFC 6455 5.5
  const std::size_t queued =
      payload.size() + frame_header_size(payload.size(), role() == Role::client);
  if (const std::error_code error = check_can_send(queued)) return error;
  queue_frame(opcode, true, payload, Placement::ahead_of_data);
  return {};
}

std::error_code Connection::ping(ByteView payload) {
  return impl_->send_control(Opcode::ping, payload);
}

std::error_code Connection::pong(ByteView payload) {
  return impl_->send_control(Opcode::pong, payload);
}

std::error_code Connection::close(CloseCode code, std::string_view reason) {
  return close(static_cast<std::uint16_t>(code), reason);
}

std::error_code Connection::close(std::uint16_t code, std::string_view reason) {
  Impl& c = *impl_;
  if (const std::error_code error = check_close_to_send(code, reason)) return error;
  if (c.phase() != detail::Phase::open) return errc::not_open;
  c.queue_close(static_cast<CloseCode>(code), reason);
  c.feed(detail::LifecycleInput::close_sent);
  c.start_close_wait();
  return {};
}

}  // namespace ws
