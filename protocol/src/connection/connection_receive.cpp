// The receive path: bytes in, frames parsed in place, messages and control
// frames out as events. A whole unfragmented message already in the input
// buffer is unmasked in place and handed out without a copy; fragments are
// joined in the message buffer (or streamed piece by piece).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "connection/connection_impl.hpp"
#include "frame/short_payload.hpp"
#include "frame/utf8_unmask.hpp"
#include "ws/base/utf8_validator.hpp"
#include "ws/frame/frame_rules.hpp"
#include "ws/frame/masking.hpp"

namespace ws {

std::size_t Connection::Impl::input_limit() const noexcept {
  // At least 256: a header and a whole control frame always fit (a shared
  // Config is not adjusted like a connection's own copy).
  return config.limits.max_buffered_input < 256 ? 256 : config.limits.max_buffered_input;
}

void Connection::Impl::compact_input() noexcept {
  if (input_begin == 0) return;
  const std::size_t left = input.size() - input_begin;
  if (left > 0) std::memmove(input.data(), input.data() + input_begin, left);
  input.resize(left);
  input_begin = 0;
}

std::size_t Connection::receive(ByteView bytes) {
  Impl& c = *impl_;
  c.direct_read = false;
  if (c.state == State::closed) return bytes.size();  // RFC 6455 7.1.7: ignore what follows
  const std::size_t offered = bytes.size();
  // While nothing is buffered, a large data frame's payload goes straight to
  // the message buffer, unmasked (and validated) as it is copied: one pass
  // over the bytes instead of a copy and an unmasking pass. The headers
  // that start such frames are checked here, as next_event() would.
  // Those bytes count against the input limit until next_event() runs, so
  // one call never takes more than the limit, as when all are buffered.
  while (!bytes.empty() && c.input_begin == c.input.size() && c.state != State::handshaking &&
         c.taken_directly < c.input_limit()) {
    if (c.can_copy_into_message()) {
      const std::size_t n = c.copy_into_message(
          bytes.first(std::min(bytes.size(), c.input_limit() - c.taken_directly)));
      c.taken_directly += n;
      bytes = bytes.subspan(n);
      // A finished message is delivered before anything else is parsed; it
      // is parked so the next one can be joined meanwhile, or else the rest
      // waits in the input buffer.
      if (c.frame_remaining == 0 && c.frame.fin && !c.park_finished_message()) break;
      continue;
    }
    const std::size_t header_size = c.take_large_frame_header(
        bytes.first(std::min(bytes.size(), c.input_limit() - c.taken_directly)));
    if (header_size == 0) break;
    c.taken_directly += header_size;
    bytes = bytes.subspan(header_size);
  }
  if (bytes.empty()) return offered;
  c.compact_input();
  const std::size_t used = c.input.size();
  const std::size_t room = c.input_limit() - std::min(c.input_limit(), used + c.taken_directly);
  const std::size_t take = std::min(bytes.size(), room);
  if (take == 0) return offered - bytes.size();
  if (used + take > c.input.capacity()) {
    c.input.reserve_exact(std::min(c.input_limit(), std::max(used + take, 2 * c.input.capacity())));
  }
  c.input.resize(used + take);
  std::memcpy(c.input.data() + used, bytes.data(), take);
  c.input_since_tick = true;
  return offered - bytes.size() + take;
}

bool Connection::Impl::can_read_into_message() const noexcept {
  return in_payload && !is_control(frame.opcode) && !(extension && extension->receiving) &&
         config.delivery == Delivery::whole_messages && input_begin == input.size() &&
         frame_remaining >= std::max(direct_read_threshold, input_limit());
}

MutableByteView Connection::receive_buffer() {
  Impl& c = *impl_;
  c.direct_read = false;
  if (c.state == State::closed) {
    // Bytes still arriving are read only to find the end of the stream.
    c.input.clear();
    c.input_begin = 0;
    c.input.reserve_exact(256);
    return {c.input.data(), c.input.capacity()};
  }
  if (c.can_read_into_message()) {
    // The rest of a large frame's payload is read straight into the message
    // buffer, where it is unmasked in place: no copy out of the input buffer.
    // The space handed out never goes past the frame, and grows the buffer
    // by a bounded step per read, not by what the header announced.
    const std::size_t held = c.message.size();
    const std::size_t step = std::max(4 * c.input_limit(), c.message.capacity() - held);
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(c.frame_remaining, step));
    c.message.reserve(held + want);
    c.direct_read = true;
    return {c.message.data() + held, want};
  }
  c.compact_input();
  const std::size_t used = c.input.size();
  const std::size_t room = c.input_limit() - std::min(c.input_limit(), used + c.taken_directly);
  const std::size_t capacity = c.input.capacity();
  // Sized to the traffic, within the limit: the rest of the frame in
  // progress and the next header in one read; twice the buffer after a read
  // filled it, or when what waits parsed takes most of it (4 KiB at first).
  std::size_t wanted = capacity - used;
  if (c.in_payload) {
    const std::uint64_t rest = c.frame_remaining + max_frame_header_size;
    if (rest > wanted) wanted = static_cast<std::size_t>(std::min<std::uint64_t>(rest, room));
  }
  if (c.read_filled_offer || wanted < capacity / 4 + 1) {
    wanted = std::max(wanted, std::max<std::size_t>(4096, 2 * capacity) - used);
  }
  wanted = std::min(wanted, room);
  if (used + wanted > capacity) c.input.reserve_exact(used + wanted);
  c.read_filled_offer = false;
  c.offered_for_read = wanted;
  return {c.input.data() + used, wanted};
}

std::size_t Connection::receive_room() const noexcept {
  const Impl& c = *impl_;
  if (c.state == State::closed) return std::numeric_limits<std::size_t>::max();
  const std::size_t held = c.input.size() - c.input_begin + c.taken_directly;
  return c.input_limit() - std::min(c.input_limit(), held);
}

void Connection::commit_received(std::size_t n) noexcept {
  Impl& c = *impl_;
  if (c.state == State::closed) return;
  if (c.direct_read) {
    c.direct_read = false;
    c.commit_into_message(n);
    return;
  }
  c.read_filled_offer = n > 0 && n >= c.offered_for_read;
  c.input.resize(std::min(c.input.size() + n, c.input.capacity()));
  c.input_since_tick = true;
}

void Connection::receive_eof() noexcept {
  Impl& c = *impl_;
  c.eof_received = true;
  if (c.state == State::closed) c.peer_ended = true;
}

bool Connection::Impl::can_copy_into_message() const noexcept {
  return in_payload && frame_remaining > 0 && !is_control(frame.opcode) &&
         !(extension && extension->receiving) && config.delivery == Delivery::whole_messages &&
         !message_delivered &&
         (frame.payload_length >= large_frame_threshold() || message.size() > 0);
}

std::size_t Connection::Impl::take_large_frame_header(ByteView bytes) noexcept {
  if (in_payload || extension || config.delivery != Delivery::whole_messages || message_delivered ||
      pending_event) {
    return 0;
  }
  const HeaderDecodeResult decoded = decode_frame_header(bytes);
  if (decoded.status != HeaderStatus::complete || is_control(decoded.header.opcode) ||
      decoded.header.payload_length < large_frame_threshold() || check_new_frame(decoded.header)) {
    return 0;  // left to the parser, which reports what is wrong
  }
  begin_frame(decoded.header);
  input_since_tick = true;
  return decoded.header_size;
}

bool Connection::Impl::park_finished_message() {
  // At most one, and no larger than the input limit: a message that size
  // could have waited in the input buffer, so memory stays within the
  // documented bound. Broken text is left to the parser, which reports it.
  // Its buffer swaps roles with the parked one, so a large buffer is not
  // parked either (that would hold two of them).
  if (parked_ready || message.size() > input_limit() || message.capacity() > 2 * input_limit()) {
    return false;
  }
  if (message_kind == MessageKind::text && (utf8.has_failed() || !utf8.is_complete())) return false;
  if (parked_delivered) parked_delivered = false;
  std::swap(parked, message);
  message.clear();
  parked_kind = message_kind;
  parked_ready = true;
  in_payload = false;
  message_open = false;
  return true;
}

std::size_t Connection::Impl::copy_into_message(ByteView bytes) {
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), frame_remaining));
  const std::size_t held = message.size();
  // Bounded like the joining path: the frame header passed the limits.
  message.resize(held + n);
  add_to_message(MutableByteView(message.data() + held, n), bytes.first(n));
  return n;
}

void Connection::Impl::commit_into_message(std::size_t n) noexcept {
  const std::size_t held = message.size();
  n = std::min({n, message.capacity() - held, static_cast<std::size_t>(frame_remaining)});
  message.set_size(held + n);
  const MutableByteView got(message.data() + held, n);
  add_to_message(got, got);
}

// Payload bytes of the current frame now at `got`, the end of the message
// buffer, taken from `from` (the same bytes when they were read into place):
// unmasked on the way and counted. Masked text is unmasked and validated in
// one pass while it is in cache. RFC 6455 8.1: a failure stays in the
// validator; next_event() reports it.
void Connection::Impl::add_to_message(MutableByteView got, ByteView from) noexcept {
  const bool in_place = got.data() == from.data();
  if (frame.masked && message_kind == MessageKind::text) {
    mask_offset = detail::copy_masked_and_validate(got, from, frame.mask_key, mask_offset, utf8);
  } else {
    if (frame.masked) {
      mask_offset = in_place ? apply_mask(got, frame.mask_key, mask_offset)
                             : copy_masked(got, from, frame.mask_key, mask_offset);
    } else if (!in_place) {
      std::memcpy(got.data(), from.data(), got.size());
    }
    if (message_kind == MessageKind::text) (void)utf8.feed(got);
  }
  frame_remaining -= got.size();
  message_size += got.size();
  input_since_tick = true;
}

// The fast path for the most common frame: a whole, unfragmented text or
// binary message of at most 125 bytes, already in the input buffer, on a
// connection with no extension and no message open. It applies the rules of
// the general path (RFC 6455 5.2 reserved bits and opcodes, 5.1 masking by
// role, the size limits, 8.1 UTF-8 for text) by taking only frames that
// pass them; anything else is left to the general path, which reports it.

// Nothing is pending and no frame or message is open: the next frame may be
// a short message. Handshaking and closed connections take the slow path.
inline bool Connection::Impl::short_message_possible() const noexcept {
  return !in_payload && !message_open && !message_delivered && !pending_event && !extension &&
         state != State::handshaking && state != State::closed;
}

// The size of the short message frame at the start of the input (header
// included), or 0 if there is none the fast path may take.
inline std::size_t Connection::Impl::short_message_size() const noexcept {
  if (in_payload || extension || message_open) return 0;
  const std::size_t available = input.size() - input_begin;
  if (available < 2) return 0;
  const std::byte* const at = input.data() + input_begin;
  const auto first = std::to_integer<unsigned>(at[0]);
  const auto second = std::to_integer<unsigned>(at[1]);
  // FIN set, RSV bits clear, opcode 1 (text) or 2 (binary).
  if (first != 0x81U && first != 0x82U) return 0;
  const std::size_t length = second & 0x7FU;
  const bool masked = (second & 0x80U) != 0;
  if (length > short_message_limit || masked != (role == Role::server)) return 0;
  const std::size_t frame_size = (masked ? 6U : 2U) + length;
  return available >= frame_size ? frame_size : 0;
}

// The frame short_message_size() measured.
inline std::optional<Event> Connection::Impl::take_short_message(std::size_t frame_size) {
  std::byte* const at = input.data() + input_begin;
  const auto first = std::to_integer<unsigned>(at[0]);
  const auto second = std::to_integer<unsigned>(at[1]);
  const std::size_t length = second & 0x7FU;
  const bool masked = (second & 0x80U) != 0;
  std::byte* const payload = at + (frame_size - length);
  const MessageKind kind = first == 0x81U ? MessageKind::text : MessageKind::binary;
  const bool non_ascii =
      masked ? detail::unmask_short_payload(payload, length, at + 2)
             : kind == MessageKind::text && detail::has_non_ascii_short(payload, length);
  // ASCII is valid UTF-8; only text with a byte >= 0x80 needs the validator.
  if (kind == MessageKind::text && non_ascii && !is_valid_utf8(ByteView(payload, length))) {
    return fail(errc::invalid_utf8);
  }
  input_begin += frame_size;
  return Message{kind, ByteView(payload, length), true, true};
}

std::optional<Event> Connection::next_event() {
  Impl& c = *impl_;
  c.taken_directly = 0;
  if (c.parked_delivered) {
    c.parked.clear();
    c.parked_delivered = false;
  }
  if (c.parked_ready) {
    // It came before anything still buffered (see park_finished_message()).
    c.parked_ready = false;
    c.parked_delivered = true;
    // Its bytes stay held until the next call: they still count against
    // the input limit.
    c.taken_directly = c.parked.size();
    return Message{c.parked_kind, ByteView(c.parked.data(), c.parked.size()), true, true};
  }
  // The common case first, with nothing else to look at: a short whole
  // message already in the input buffer (see short_message_size()).
  if (c.short_message_possible()) {
    if (const std::size_t frame_size = c.short_message_size()) {
      return c.take_short_message(frame_size);
    }
    return c.parse_frames();
  }
  if (c.message_delivered) {
    c.message.clear();
    c.message_delivered = false;
  }
  if (c.state == State::closed && c.handshake) {
    c.handshake.reset();  // the views of a Rejected event died with this call
  }
  if (c.pending_event) return c.pending_event.take();
  if (c.state == State::closed) {
    c.input.clear();
    c.input_begin = 0;
    return std::nullopt;
  }
  if (c.state == State::handshaking) return c.advance_handshake();
  if (const std::size_t frame_size = c.short_message_size())
    return c.take_short_message(frame_size);
  return c.parse_frames();
}

// RFC 6455 5.2 and 7.4.1, RFC 7692 6.1: the rules a frame header must
// pass, given what is open; nothing changes.
std::error_code Connection::Impl::check_new_frame(const FrameHeader& header) const noexcept {
  const bool starts_message = header.opcode != Opcode::continuation;
  // An extension's bit is allowed on the first frame of a data message
  // only; on a control frame or a continuation it is 1002.
  const std::uint8_t allowed_bits = extension && !is_control(header.opcode) && starts_message
                                        ? extension->bits
                                        : std::uint8_t{rsv_none};
  const FrameContext context{role, allowed_bits, message_open};
  if (const std::error_code error = check_frame_header(header, context)) return error;
  if (is_control(header.opcode)) return {};
  // 1009: limits are checked before any payload is kept.
  if (header.payload_length > config.limits.max_frame_size) return errc::frame_too_large;
  const bool encoded = extension && (starts_message ? (header.reserved_bits & extension->bits) != 0
                                                    : extension->receiving);
  if (encoded) {
    // Decoded bytes are counted as they are produced; the wire bytes are
    // bounded too (with room for incompressible data).
    const std::uint64_t limit = config.limits.max_message_size;
    const std::uint64_t slack = limit / 8 + 1024;
    const std::uint64_t wire_limit = limit > UINT64_MAX - slack ? UINT64_MAX : limit + slack;
    const std::uint64_t received = starts_message ? 0 : extension->received_wire;
    if (header.payload_length > wire_limit - received) return errc::message_too_large;
  } else {
    const std::uint64_t so_far = starts_message ? 0 : message_size;
    if (header.payload_length > config.limits.max_message_size - so_far) {
      return errc::message_too_large;
    }
  }
  return {};
}

// A header that passed check_new_frame(): its payload is read next.
void Connection::Impl::begin_frame(const FrameHeader& header) noexcept {
  if (!is_control(header.opcode)) {
    if (header.opcode != Opcode::continuation) {
      message_open = true;
      message_kind = header.opcode == Opcode::text ? MessageKind::text : MessageKind::binary;
      message_size = 0;
      message_started_delivery = false;
      utf8.reset();
      if (extension) {
        extension->receiving = (header.reserved_bits & extension->bits) != 0;
        extension->received_wire = 0;
      }
    }
    if (extension && extension->receiving) extension->received_wire += header.payload_length;
  }
  frame = header;
  frame_remaining = header.payload_length;
  mask_offset = 0;
  in_payload = true;
}

std::optional<Event> Connection::Impl::parse_frames() {
  for (;;) {
    if (!in_payload) {
      const ByteView available(input.data() + input_begin, input.size() - input_begin);
      const HeaderDecodeResult decoded = decode_frame_header(available);
      if (decoded.status == HeaderStatus::incomplete) return end_of_input();
      if (decoded.status == HeaderStatus::invalid) return fail(decoded.error);
      if (const std::error_code error = check_new_frame(decoded.header)) return fail(error);
      begin_frame(decoded.header);
      input_begin += decoded.header_size;
    }
    std::optional<Event> event = is_control(frame.opcode)            ? read_control_payload()
                                 : extension && extension->receiving ? read_encoded_payload()
                                                                     : read_data_payload();
    if (event) return event;
    if (in_payload) return end_of_input();
  }
}

std::optional<Event> Connection::Impl::read_control_payload() {
  const std::size_t length = static_cast<std::size_t>(frame_remaining);
  if (input.size() - input_begin < length) return std::nullopt;
  const MutableByteView payload(input.data() + input_begin, length);
  if (frame.masked) apply_mask(payload, frame.mask_key);
  input_begin += length;
  in_payload = false;
  switch (frame.opcode) {
    case Opcode::ping:
      // RFC 6455 5.5.2/5.5.3: the pong echoes the ping. When the output is
      // full the pong is skipped: answering only the latest ping is allowed.
      if (config.auto_pong && state == State::open &&
          output.size() + length + max_frame_header_size <= config.limits.max_queued_output) {
        queue_frame(Opcode::pong, true, payload, detail::OutputQueue::Placement::ahead_of_data);
      }
      return Ping{payload};
    case Opcode::pong:
      return Pong{payload};
    default:
      return handle_close_frame(payload);
  }
}

std::optional<Event> Connection::Impl::read_data_payload() {
  const std::size_t available = input.size() - input_begin;
  const MessageKind kind = message_kind;
  const bool whole_message =
      frame.fin && frame.opcode != Opcode::continuation && frame_remaining == frame.payload_length;
  if (whole_message && available >= frame_remaining) {
    // The common case: the whole message is here. Unmask it in place and
    // hand out a view of the input buffer.
    const MutableByteView payload(input.data() + input_begin,
                                  static_cast<std::size_t>(frame_remaining));
    if (kind == MessageKind::text) {
      if (frame.masked) {
        (void)detail::unmask_and_validate(payload, frame.mask_key, 0, utf8);
      } else {
        (void)utf8.feed(payload);
      }
      if (utf8.has_failed() || !utf8.is_complete()) return fail(errc::invalid_utf8);
    } else if (frame.masked) {
      apply_mask(payload, frame.mask_key);
    }
    input_begin += payload.size();
    in_payload = false;
    message_open = false;
    return Message{kind, payload, true, true};
  }

  const std::size_t take =
      static_cast<std::size_t>(std::min<std::uint64_t>(available, frame_remaining));
  const MutableByteView piece(input.data() + input_begin, take);
  const bool joining = config.delivery == Delivery::whole_messages;
  // Whole messages: the piece is unmasked while it is copied into the message
  // buffer (one pass instead of two). Its size was bounded by the limits when
  // the frame header was checked.
  MutableByteView data = piece;
  const bool text = kind == MessageKind::text;
  bool validated = false;  // masked text is validated in the unmasking pass
  if (joining && take > 0) {
    const std::size_t old_size = message.size();
    message.resize(old_size + take);
    data = MutableByteView(message.data() + old_size, take);
    if (frame.masked && text) {
      mask_offset =
          detail::copy_masked_and_validate(data, piece, frame.mask_key, mask_offset, utf8);
      validated = true;
    } else if (frame.masked) {
      mask_offset = copy_masked(data, piece, frame.mask_key, mask_offset);
    } else {
      std::memcpy(data.data(), piece.data(), take);
    }
  } else if (frame.masked && text) {
    mask_offset = detail::unmask_and_validate(piece, frame.mask_key, mask_offset, utf8);
    validated = true;
  } else if (frame.masked) {
    mask_offset = apply_mask(piece, frame.mask_key, mask_offset);
  }
  // RFC 6455 8.1: fail as soon as the text cannot be UTF-8, not at the end.
  if (text && (validated ? utf8.has_failed() : !utf8.feed(data))) {
    return fail(errc::invalid_utf8);
  }
  input_begin += take;
  frame_remaining -= take;
  message_size += take;
  const bool frame_done = frame_remaining == 0;
  const bool message_done = frame_done && frame.fin;
  if (frame_done) in_payload = false;
  if (message_done) {
    if (kind == MessageKind::text && !utf8.is_complete()) return fail(errc::invalid_utf8);
    message_open = false;
  }

  if (config.delivery == Delivery::streamed) {
    if (take == 0 && !message_done) return std::nullopt;
    const bool first = !message_started_delivery;
    message_started_delivery = true;
    return Message{kind, piece, first, message_done};
  }
  if (!message_done) return std::nullopt;
  message_delivered = true;
  return Message{kind, ByteView(message.data(), message.size()), true, true};
}

std::optional<Event> Connection::Impl::handle_close_frame(ByteView payload) {
  const ClosePayload parsed = parse_close_payload(payload);
  if (parsed.error) return fail(parsed.error);
  close_received = true;
  if (state == State::open) {
    // RFC 6455 5.5.1: answer with a close, echoing the code.
    queue_close(parsed.code, {});
  }
  transition(detail::StateInput::close_received);
  // The end of stream may have been reported before this close was parsed.
  peer_ended = peer_ended || eof_received;
  start_close_wait();
  input_begin = input.size();
  return Closed{parsed.code, parsed.reason, {}, sent_close_code};
}

std::optional<Event> Connection::Impl::end_of_input() {
  if (!eof_received) return std::nullopt;
  return fail(errc::unexpected_eof);
}

std::optional<Event> Connection::Impl::fail(std::error_code error) {
  // RFC 6455 7.1.7: send a close with the reason if none went out yet and
  // the stream is still there, then stop reading.
  const bool transport_gone = error == errc::unexpected_eof || error == errc::close_timeout;
  if (!close_sent && !transport_gone && state != State::handshaking) {
    queue_close(close_code_for(error), {});
  }
  failed = true;
  peer_ended = peer_ended || error == errc::unexpected_eof;
  transition(detail::StateInput::failed);
  input.clear();
  input_begin = 0;
  in_payload = false;
  parked_ready = false;  // dropped with the input it would have been parsed from
  return Closed{CloseCode::abnormal, {}, error, sent_close_code};
}

}  // namespace ws
