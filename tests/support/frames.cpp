#include "support/frames.hpp"

#include <cstring>
#include <stdexcept>

#include "ws/frame/masking.hpp"

namespace ws::test {

Bytes bytes_of(std::string_view text) {
  const ByteView view = as_bytes(text);
  return Bytes(view.begin(), view.end());
}

Bytes bytes_of(std::initializer_list<unsigned> values) {
  Bytes out;
  for (unsigned value : values) out.push_back(static_cast<std::byte>(value));
  return out;
}

std::string text_of(ByteView bytes) { return std::string(as_text(bytes)); }

Bytes frame(const FrameSpec& spec, ByteView payload) {
  FrameHeader header;
  header.fin = spec.fin;
  header.reserved_bits = spec.reserved_bits;
  header.opcode = spec.opcode;
  header.masked = spec.mask.has_value();
  if (spec.mask) header.mask_key = *spec.mask;
  header.payload_length = payload.size();
  std::array<std::byte, max_frame_header_size> head{};
  const std::size_t head_size = encode_frame_header(header, head);
  Bytes out(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(head_size));
  const std::size_t start = out.size();
  out.insert(out.end(), payload.begin(), payload.end());
  if (spec.mask) apply_mask(MutableByteView(out).subspan(start), *spec.mask);
  return out;
}

Bytes frame_header(const FrameSpec& spec, std::uint64_t payload_length) {
  FrameHeader header;
  header.fin = spec.fin;
  header.reserved_bits = spec.reserved_bits;
  header.opcode = spec.opcode;
  header.masked = spec.mask.has_value();
  if (spec.mask) header.mask_key = *spec.mask;
  header.payload_length = payload_length;
  std::array<std::byte, max_frame_header_size> head{};
  const std::size_t head_size = encode_frame_header(header, head);
  return Bytes(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(head_size));
}

Bytes client_frame(Opcode opcode, std::string_view payload, bool fin) {
  FrameSpec spec;
  spec.opcode = opcode;
  spec.fin = fin;
  return frame(spec, as_bytes(payload));
}

Bytes server_frame(Opcode opcode, std::string_view payload, bool fin) {
  FrameSpec spec;
  spec.opcode = opcode;
  spec.fin = fin;
  spec.mask.reset();
  return frame(spec, as_bytes(payload));
}

Bytes close_payload(std::uint16_t code, std::string_view reason) {
  Bytes out{static_cast<std::byte>(code >> 8), static_cast<std::byte>(code & 0xFF)};
  const ByteView text = as_bytes(reason);
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

std::ostream& operator<<(std::ostream& out, const OwnedEvent& event) {
  switch (event.type) {
    case OwnedEvent::Type::message:
      out << (event.kind == MessageKind::text ? "Text" : "Binary") << "(" << event.payload.size()
          << " bytes" << (event.is_first ? ", first" : "") << (event.is_last ? ", last" : "")
          << ")";
      break;
    case OwnedEvent::Type::ping:
      out << "Ping(" << event.payload.size() << " bytes)";
      break;
    case OwnedEvent::Type::pong:
      out << "Pong(" << event.payload.size() << " bytes)";
      break;
    case OwnedEvent::Type::upgrade_requested:
      out << "UpgradeRequested(" << event.subprotocol << ")";
      break;
    case OwnedEvent::Type::opened:
      out << "Opened(" << event.subprotocol << ")";
      break;
    case OwnedEvent::Type::rejected:
      out << "Rejected(" << event.status << ")";
      break;
    case OwnedEvent::Type::http_requested:
      out << "HttpRequested(" << event.subprotocol << ")";
      break;
    case OwnedEvent::Type::closed:
      out << "Closed(code " << static_cast<unsigned>(event.code) << ", sent "
          << static_cast<unsigned>(event.sent_code) << ", error '" << event.error.message() << "')";
      break;
  }
  return out;
}

OwnedEvent own(const Event& event) {
  OwnedEvent owned;
  std::visit(
      [&owned](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, Message>) {
          owned.type = OwnedEvent::Type::message;
          owned.kind = e.kind;
          owned.payload.assign(e.payload.begin(), e.payload.end());
          owned.is_first = e.is_first;
          owned.is_last = e.is_last;
        } else if constexpr (std::is_same_v<T, Ping>) {
          owned.type = OwnedEvent::Type::ping;
          owned.payload.assign(e.payload.begin(), e.payload.end());
        } else if constexpr (std::is_same_v<T, Pong>) {
          owned.type = OwnedEvent::Type::pong;
          owned.payload.assign(e.payload.begin(), e.payload.end());
        } else if constexpr (std::is_same_v<T, UpgradeRequested>) {
          owned.type = OwnedEvent::Type::upgrade_requested;
          owned.subprotocol = e.request->path;
        } else if constexpr (std::is_same_v<T, Opened>) {
          owned.type = OwnedEvent::Type::opened;
          owned.subprotocol = std::string(e.subprotocol);
          owned.payload = bytes_of(e.extensions);
        } else if constexpr (std::is_same_v<T, HttpRequested>) {
          owned.type = OwnedEvent::Type::http_requested;
          owned.subprotocol = std::string(e.head->target);
        } else if constexpr (std::is_same_v<T, Rejected>) {
          owned.type = OwnedEvent::Type::rejected;
          owned.status = e.status;
          for (const HttpHeader& h : e.headers) owned.headers.emplace_back(h.name, h.value);
          owned.payload.assign(e.body.begin(), e.body.end());
        } else {
          owned.type = OwnedEvent::Type::closed;
          owned.code = e.code;
          owned.sent_code = e.sent_code;
          owned.error = e.error;
          owned.payload = bytes_of(e.reason);
        }
      },
      event);
  return owned;
}

std::vector<OwnedEvent> drain(Connection& connection) {
  std::vector<OwnedEvent> events;
  while (auto event = connection.next_event()) events.push_back(own(*event));
  return events;
}

std::vector<OwnedEvent> feed(Connection& connection, ByteView bytes) {
  std::vector<OwnedEvent> events;
  while (!bytes.empty()) {
    const std::size_t taken = connection.receive(bytes);
    bytes = bytes.subspan(taken);
    const std::vector<OwnedEvent> more = drain(connection);
    events.insert(events.end(), more.begin(), more.end());
    if (taken == 0 && more.empty())
      throw std::logic_error("connection took nothing and said nothing");
  }
  const std::vector<OwnedEvent> more = drain(connection);
  events.insert(events.end(), more.begin(), more.end());
  return events;
}

Bytes take_output(Connection& connection) {
  Bytes out;
  for (const OutputBuffer& buffer : connection.pending_output()) {
    out.insert(out.end(), buffer.data, buffer.data + buffer.size);
  }
  connection.consume_output(out.size());
  return out;
}

std::vector<ParsedFrame> parse_frames(ByteView bytes) {
  std::vector<ParsedFrame> frames;
  while (!bytes.empty()) {
    const HeaderDecodeResult decoded = decode_frame_header(bytes);
    if (decoded.status != HeaderStatus::complete ||
        bytes.size() - decoded.header_size < decoded.header.payload_length) {
      throw std::runtime_error("truncated or invalid frame in output");
    }
    ParsedFrame parsed;
    parsed.header = decoded.header;
    const ByteView payload =
        bytes.subspan(decoded.header_size, static_cast<std::size_t>(decoded.header.payload_length));
    parsed.payload.assign(payload.begin(), payload.end());
    if (parsed.header.masked) apply_mask(MutableByteView(parsed.payload), parsed.header.mask_key);
    frames.push_back(std::move(parsed));
    bytes = bytes.subspan(decoded.header_size + payload.size());
  }
  return frames;
}

RandomSource counting_random_source() {
  auto counter = std::make_shared<unsigned>(0);
  return [counter](MutableByteView out) {
    for (std::byte& b : out) b = static_cast<std::byte>((*counter)++ * 37U + 11U);
  };
}

}  // namespace ws::test
