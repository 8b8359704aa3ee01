// An agreed extension inside a Connection (RFC 6455 9, RFC 7692): choosing
// it in the handshake, decoding messages whose first frame carries its RSV
// bit, and encoding the messages it chooses to encode. Connections without
// an extension never reach this file.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "connection/connection_impl.hpp"
#include "ws/frame/masking.hpp"

namespace ws {
namespace {

// Encoder output buffers up to this size are kept between messages.
constexpr std::size_t max_kept_encoded = 64 * 1024;

}  // namespace

std::optional<ExtensionAgreement> negotiate_server_extension(const Config& config,
                                                             const UpgradeRequest& request) {
  if (!config.extension || request.extension_offers.empty()) return std::nullopt;
  Result<std::vector<ExtensionElement>> offers = parse_extension_list(request.extension_offers);
  // A malformed offer list is declined as a whole: the connection opens
  // without extensions rather than failing.
  if (!offers) return std::nullopt;
  const std::string_view name = config.extension->name();
  std::vector<ExtensionElement> ours;
  for (ExtensionElement& offer : *offers) {
    if (offer.name == name) ours.push_back(std::move(offer));
  }
  if (ours.empty()) return std::nullopt;
  std::optional<ExtensionAgreement> agreement = config.extension->server_accept(ours);
  if (agreement && !agreement->session) return std::nullopt;
  return agreement;
}

std::error_code Connection::Impl::agree_client_extension(
    std::span<const std::string> response_values) {
  if (!config.extension || response_values.empty()) return {};
  Result<std::vector<ExtensionElement>> elements = parse_extension_list(response_values);
  if (!elements) return errc::invalid_extension_response;
  const std::string_view name = config.extension->name();
  for (const ExtensionElement& element : *elements) {
    if (element.name != name) continue;  // one the application offered itself
    // RFC 7692 5: one element per extension in the response.
    if (extension) return errc::invalid_extension_response;
    Result<std::unique_ptr<ExtensionSession>> session = config.extension->client_accept(element);
    if (!session) return session.error();
    if (!*session) return errc::invalid_extension_response;
    extension = std::make_unique<detail::ExtensionState>(std::move(*session));
  }
  return {};
}

// ---- receive ----

std::optional<Event> Connection::Impl::read_encoded_payload() {
  const auto take = static_cast<std::size_t>(
      std::min<std::uint64_t>(reader.unparsed_size(), reader.frame_remaining()));
  const MutableByteView piece = reader.take_payload(take, nullptr);
  const bool frame_done = reader.frame_remaining() == 0;
  const bool message_done = frame_done && reader.frame().fin;
  if (frame_done) reader.end_frame();
  if (take == 0 && !message_done) return std::nullopt;

  const std::size_t delivered_before = assembler.joined().size();
  if (const std::error_code error = decode_piece(piece, message_done)) return fail(error);
  if (message_done) {
    if (!assembler.text_valid(/*complete=*/true)) return fail(errc::invalid_utf8);
    assembler.end();
    extension->receiving = false;
  }
  if (config.delivery == Delivery::streamed) {
    if (assembler.joined().size() == delivered_before && !message_done) return std::nullopt;
    // The piece is dropped at the next call.
    return assembler.deliver(assembler.first_piece(), message_done);
  }
  if (!message_done) return std::nullopt;
  return assembler.deliver();
}

// Decodes `piece` into the message buffer. The decoder gets at most what
// Limits::max_message_size still allows plus one byte, so a message that
// expands past the limit is caught by the byte that crosses it, and the
// buffer never grows beyond limit + 1 bytes.
std::error_code Connection::Impl::decode_piece(ByteView piece, bool last) {
  const std::uint64_t limit = config.limits.max_message_size;
  ExtensionSession& session = *extension->session;
  detail::ByteBuffer& message = assembler.buffer();
  std::size_t used = 0;
  for (;;) {
    if (used == piece.size() && !last) return {};
    const std::uint64_t left = limit - assembler.size();
    const std::uint64_t allowed = left == UINT64_MAX ? left : left + 1;
    const std::size_t size = message.size();
    if (message.capacity() - size < 1024 && message.capacity() - size < allowed) {
      const std::uint64_t wanted = std::max<std::uint64_t>(2 * message.capacity(), size + 4096);
      message.reserve_exact(static_cast<std::size_t>(std::min(wanted - size, allowed) + size));
    }
    const std::size_t room =
        static_cast<std::size_t>(std::min<std::uint64_t>(message.capacity() - size, allowed));
    message.resize(size + room);
    const CodecStep step =
        session.decode(piece.subspan(used), MutableByteView(message.data() + size, room), last);
    const std::size_t produced = std::min(step.produced, room);
    message.resize(size + produced);
    if (step.error) return step.error;
    used += std::min(step.consumed, piece.size() - used);
    assembler.count(produced);
    if (assembler.size() > limit) return errc::message_too_large;  // RFC 7692 8.1 advises a bound
    if (Utf8Validator* text = assembler.text_validator();
        text != nullptr && !text->feed(ByteView(message.data() + size, produced))) {
      return errc::invalid_utf8;
    }
    if (used == piece.size() && last && step.finished) return {};
    if (step.consumed == 0 && step.produced == 0) return errc::extension_failed;
  }
}

// ---- send ----

std::error_code Connection::Impl::send_encoded(MessageKind kind, ByteView payload, Fin fin) {
  ExtensionSession& session = *extension->session;
  // Refuse before the encoder's state moves: a refused send must leave the
  // compression context as the peer's decoder expects it.
  const std::size_t bound = session.max_encoded_size(payload.size());
  const std::size_t fragment = config.auto_fragment_size;
  const std::size_t frames = fragment == 0 ? 1 : bound / fragment + 1;
  if (const std::error_code error = check_can_send(bound + frames * max_frame_header_size)) {
    return error;
  }
  if (sender.message_open && sender.kind != kind) return errc::message_in_progress;
  extension->encoded.clear();
  if (const std::error_code error = session.encode(payload, fin == Fin::yes, extension->encoded)) {
    return error;
  }
  // RFC 7692 6: the bit goes on the first frame of the message only.
  const std::uint8_t bits = sender.message_open ? std::uint8_t{rsv_none} : extension->bits;
  queue_data_frames(sender.next_opcode(kind), bits, ByteView(extension->encoded), fin == Fin::yes);
  // The frames hold copies now; a large buffer is not kept for later.
  if (extension->encoded.capacity() > max_kept_encoded)
    std::vector<std::byte>().swap(extension->encoded);
  sender.sent(kind, fin == Fin::yes);
  return {};
}

}  // namespace ws
