// The receive routes: how a received byte gets from the transport to an
// event. Each route is one function here (docs/design.md draws them):
//
//   into the reader's input buffer: receive(), receive_buffer()
//   1 short message   a whole frame of at most 125 bytes in the input,
//                     unmasked in place, handed out as a view   take_short_message
//   2 whole in place  a whole unfragmented message in the input,
//                     unmasked (and validated) in place          read_data_payload
//   3 joined          a part of a message, copied out of the input
//                     into the assembler, unmasked on the way     read_data_payload
//   4 streamed        a part unmasked in place, handed out as a
//                     piece (Delivery::streamed)                 read_data_payload
//   5 copied early    receive(): a large frame's payload, nothing
//                     buffered, copied straight into the assembler copy_large_frames
//   6 read in place   receive_buffer(): the rest of a large frame
//                     read into the assembler, unmasked there     offer_message_space
//   7 parked          a message finished by route 5 waits while
//                     the next one is joined                      park_finished_message
//   8 decoded         an extension's message: unmasked in place,
//                     decoded into the assembler                  connection_extension.cpp
//   control frames    unmasked in place; a ping is answered, a
//                     close moves the lifecycle                  read_control_payload
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "connection/connection_impl.hpp"
#include "frame/short_payload.hpp"
#include "ws/base/utf8_validator.hpp"
#include "ws/frame/frame_rules.hpp"
#include "ws/frame/masking.hpp"

namespace ws {

using detail::LifecycleInput;
using detail::Phase;

std::size_t Connection::Impl::input_limit() const noexcept {
  // At least 256: a header and a whole control frame always fit (a shared
  // Config is not adjusted like a connection's own copy).
  return config.limits.max_buffered_input < 256 ? 256 : config.limits.max_buffered_input;
}

bool Connection::Impl::receiving_encoded() const noexcept {
  return extension && extension->receiving;
}

// ---- bytes in ----

std::size_t Connection::receive(ByteView bytes) {
  Impl& c = *impl_;
  c.reader.offered_message_space = false;
  if (bytes.empty()) return 0;                       // nothing moves: views of the last event stay
  if (c.lifecycle.is_closed()) return bytes.size();  // RFC 6455 7.1.7: ignore what follows
  const std::size_t offered = bytes.size();
  if (c.reader.drained() && c.lifecycle.carries_frames()) {
    bytes = bytes.subspan(c.copy_large_frames(bytes));  // route 5
    if (bytes.empty()) return offered;
  }
  const std::size_t taken = c.reader.append(bytes, c.input_limit());
  if (taken > 0) c.timers.note_input();
  return offered - bytes.size() + taken;
}

MutableByteView Connection::receive_buffer() {
  Impl& c = *impl_;
  c.reader.offered_message_space = false;
  // Bytes still arriving once closed are read only to find the end of the stream.
  if (c.lifecycle.is_closed()) return c.reader.offer_for_discard();
  if (c.can_read_into_message()) return c.offer_message_space();  // route 6
  return c.reader.offer(c.input_limit());
}

std::size_t Connection::receive_room() const noexcept {
  const Impl& c = *impl_;
  if (c.lifecycle.is_closed()) return std::numeric_limits<std::size_t>::max();
  return c.input_limit() - std::min(c.input_limit(), c.reader.held());
}

void Connection::commit_received(std::size_t n) noexcept {
  Impl& c = *impl_;
  if (c.lifecycle.is_closed()) return;
  if (c.reader.offered_message_space) {
    c.reader.offered_message_space = false;
    c.commit_into_message(n);
    return;
  }
  c.reader.commit(n);
  c.timers.note_input();
}

void Connection::receive_eof() noexcept { impl_->feed(LifecycleInput::stream_ended); }

// ---- route 5: large frames copied into the assembler by receive() ----

// While nothing is buffered, a large data frame's payload goes straight to
// the assembler's buffer, unmasked (and validated) as it is copied: one pass
// over the bytes instead of a copy and an unmasking pass. The headers that
// start such frames are checked here, as next_event() would. Those bytes
// count against the input limit until next_event() runs, so one call never
// takes more than the limit, as when all are buffered. Returns how many of
// `bytes` were taken.
std::size_t Connection::Impl::copy_large_frames(ByteView bytes) {
  std::size_t used = 0;
  const std::size_t limit = input_limit();
  while (used < bytes.size() && reader.taken_directly < limit) {
    const ByteView rest =
        bytes.subspan(used, std::min(bytes.size() - used, limit - reader.taken_directly));
    std::size_t n = 0;
    if (can_copy_into_message()) {
      n = copy_into_message(rest);
    } else if (!(n = take_large_frame_header(rest))) {
      break;
    }
    reader.taken_directly += n;
    used += n;
    // A finished message is delivered before anything else is parsed; it
    // is parked (route 7) so the next one can be joined meanwhile, or else
    // the rest waits in the input buffer.
    if (reader.in_payload() && reader.frame_remaining() == 0 && reader.frame().fin &&
        !park_finished_message()) {
      break;
    }
  }
  return used;
}

bool Connection::Impl::can_copy_into_message() const noexcept {
  return reader.in_payload() && reader.frame_remaining() > 0 &&
         !is_control(reader.frame().opcode) && !receiving_encoded() &&
         config.delivery == Delivery::whole_messages && !assembler.delivered() &&
         (reader.frame().payload_length >= large_frame_threshold() ||
          assembler.joined().size() > 0);
}

// A large data frame's header at the start of `bytes`, checked and begun:
// its size, or 0 (and nothing changed) if there is none.
std::size_t Connection::Impl::take_large_frame_header(ByteView bytes) noexcept {
  if (reader.in_payload() || extension || config.delivery != Delivery::whole_messages ||
      assembler.delivered() || pending_event) {
    return 0;
  }
  const HeaderDecodeResult decoded = decode_frame_header(bytes);
  if (decoded.status != HeaderStatus::complete || is_control(decoded.header.opcode) ||
      decoded.header.payload_length < large_frame_threshold() || check_new_frame(decoded.header)) {
    return 0;  // left to the parser, which reports what is wrong
  }
  begin_frame(decoded.header);
  timers.note_input();
  return decoded.header_size;
}

std::size_t Connection::Impl::copy_into_message(ByteView bytes) {
  const auto n =
      static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), reader.frame_remaining()));
  // Bounded like the joining route: the frame header passed the limits.
  reader.unmask_payload(assembler.extend(n), bytes.first(n), assembler.text_validator());
  assembler.count(n);
  timers.note_input();
  return n;
}

// ---- route 6: the rest of a large frame read into the assembler ----

bool Connection::Impl::can_read_into_message() const noexcept {
  return reader.in_payload() && !is_control(reader.frame().opcode) && !receiving_encoded() &&
         config.delivery == Delivery::whole_messages && reader.drained() &&
         reader.frame_remaining() >= std::max(direct_read_threshold, input_limit());
}

// The rest of a large frame's payload is read straight into the message
// buffer, where it is unmasked in place: no copy out of the input buffer.
// The space handed out never goes past the frame, and grows the buffer by a
// bounded step per read, not by what the header announced.
MutableByteView Connection::Impl::offer_message_space() {
  detail::ByteBuffer& buffer = assembler.buffer();
  const std::size_t held = buffer.size();
  const std::size_t step = std::max(4 * input_limit(), buffer.capacity() - held);
  const auto want =
      static_cast<std::size_t>(std::min<std::uint64_t>(reader.frame_remaining(), step));
  buffer.reserve(held + want);
  reader.offered_message_space = true;
  return {buffer.data() + held, want};
}

void Connection::Impl::commit_into_message(std::size_t n) noexcept {
  detail::ByteBuffer& buffer = assembler.buffer();
  const std::size_t held = buffer.size();
  n = std::min({n, buffer.capacity() - held, static_cast<std::size_t>(reader.frame_remaining())});
  buffer.set_size(held + n);
  const MutableByteView got(buffer.data() + held, n);
  reader.unmask_payload(got, got, assembler.text_validator());
  assembler.count(n);
  timers.note_input();
}

// ---- route 7: a finished message parked ----

bool Connection::Impl::park_finished_message() {
  if (!assembler.park(input_limit())) return false;
  reader.end_frame();
  return true;
}

// ---- events out ----

std::optional<Event> Connection::next_event() {
  Impl& c = *impl_;
  c.reader.taken_directly = 0;
  // One test for everything unusual: something handed out last time or
  // pending, a handshake, a closed connection.
  if (c.assembler.unsettled() || c.pending_event || !c.lifecycle.carries_frames()) {
    return c.next_event_unsettled();
  }
  return c.next_frame_event();
}

std::optional<Event> Connection::Impl::next_event_unsettled() {
  assembler.settle_parked();
  if (assembler.parked_ready()) {
    // It came before anything still buffered (see park_finished_message()).
    // Its bytes stay held until the next call: they still count against
    // the input limit.
    reader.taken_directly = assembler.parked_size();
    return assembler.take_parked();
  }
  assembler.settle_delivered();
  if (lifecycle.is_closed() && handshake) {
    handshake.reset();  // the views of a Rejected event died with this call
  }
  if (pending_event) return pending_event.take();
  if (lifecycle.is_closed()) {
    reader.discard();
    return std::nullopt;
  }
  if (phase() == Phase::handshaking) return advance_handshake();
  return next_frame_event();
}

std::optional<Event> Connection::Impl::next_frame_event() {
  if (const std::size_t frame_size = short_message_size()) return take_short_message(frame_size);
  return parse_frames();
}

// ---- route 1: short messages ----
// The most common frame: a whole, unfragmented text or binary message of at
// most 125 bytes, already in the input buffer, on a connection with no
// extension and no message open. It applies the rules of the general route
// (RFC 6455 5.2 reserved bits and opcodes, 5.1 masking by role, the size
// limits, 8.1 UTF-8 for text) by taking only frames that pass them; anything
// else is left to parse_frames(), which reports it.

// The size of the short message frame at the start of the input (header
// included), or 0 if there is none this route may take.
std::size_t Connection::Impl::short_message_size() const noexcept {
  if (reader.in_payload() || extension || assembler.open()) return 0;
  const ByteView input = reader.unparsed();
  if (input.size() < 2) return 0;
  const auto first = std::to_integer<unsigned>(input[0]);
  const auto second = std::to_integer<unsigned>(input[1]);
  // FIN set, RSV bits clear, opcode 1 (text) or 2 (binary).
  if (first != 0x81U && first != 0x82U) return 0;
  const std::size_t length = second & 0x7FU;
  const bool masked = (second & 0x80U) != 0;
  if (length > short_message_limit || masked != (role() == Role::server)) return 0;
  const std::size_t frame_size = (masked ? 6U : 2U) + length;
  return input.size() >= frame_size ? frame_size : 0;
}

// The frame short_message_size() measured.
std::optional<Event> Connection::Impl::take_short_message(std::size_t frame_size) {
  std::byte* const at = reader.unparsed().data();
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
  reader.skip(frame_size);
  return Message{kind, ByteView(payload, length), true, true};
}

// ---- frames: headers, then each payload's route ----

// RFC 6455 5.2 and 7.4.1, RFC 7692 6.1: the rules a frame header must
// pass, given what is open; nothing changes.
std::error_code Connection::Impl::check_new_frame(const FrameHeader& header) const noexcept {
  const bool starts_message = header.opcode != Opcode::continuation;
  // An extension's bit is allowed on the first frame of a data message
  // only; on a control frame or a continuation it is 1002.
  const std::uint8_t allowed_bits = extension && !is_control(header.opcode) && starts_message
                                        ? extension->bits
                                        : std::uint8_t{rsv_none};
  const FrameContext context{role(), allowed_bits, assembler.open()};
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
    const std::uint64_t so_far = starts_message ? 0 : assembler.size();
    if (header.payload_length > config.limits.max_message_size - so_far) {
      return errc::message_too_large;
    }
  }
  return {};
}

// A header that passed check_new_frame(): a data frame that starts a message
// begins it in the assembler; the reader reads the payload next.
void Connection::Impl::begin_frame(const FrameHeader& header) noexcept {
  if (!is_control(header.opcode)) {
    if (header.opcode != Opcode::continuation) {
      assembler.begin(header.opcode == Opcode::text ? MessageKind::text : MessageKind::binary);
      if (extension) {
        extension->receiving = (header.reserved_bits & extension->bits) != 0;
        extension->received_wire = 0;
      }
    }
    if (receiving_encoded()) extension->received_wire += header.payload_length;
  }
  reader.begin_frame(header);
}

std::optional<Event> Connection::Impl::parse_frames() {
  for (;;) {
    if (!reader.in_payload()) {
      const HeaderDecodeResult decoded = decode_frame_header(reader.unparsed());
      if (decoded.status == HeaderStatus::incomplete) return end_of_input();
      if (decoded.status == HeaderStatus::invalid) return fail(decoded.error);
      if (const std::error_code error = check_new_frame(decoded.header)) return fail(error);
      begin_frame(decoded.header);
      reader.skip(decoded.header_size);
    }
    std::optional<Event> event = is_control(reader.frame().opcode) ? read_control_payload()
                                 : receiving_encoded()             ? read_encoded_payload()
                                                                   : read_data_payload();
    if (event) return event;
    if (reader.in_payload()) return end_of_input();
  }
}

std::optional<Event> Connection::Impl::read_control_payload() {
  const auto length = static_cast<std::size_t>(reader.frame_remaining());
  if (reader.unparsed_size() < length) return std::nullopt;
  const MutableByteView payload = reader.take_payload(length, nullptr);
  reader.end_frame();
  switch (reader.frame().opcode) {
    case Opcode::ping:
      // RFC 6455 5.5.2/5.5.3: the pong echoes the ping. When the output is
      // full the pong is skipped: answering only the latest ping is allowed.
      if (config.auto_pong && phase() == Phase::open &&
          sender.queue.size() + length + max_frame_header_size <= config.limits.max_queued_output) {
        queue_frame(Opcode::pong, true, payload, detail::OutputQueue::Placement::ahead_of_data);
      }
      return Ping{payload};
    case Opcode::pong:
      return Pong{payload};
    default:
      return handle_close_frame(payload);
  }
}

// Routes 2, 3 and 4.
std::optional<Event> Connection::Impl::read_data_payload() {
  const FrameHeader& frame = reader.frame();
  const std::size_t available = reader.unparsed_size();
  const MessageKind kind = assembler.kind();
  Utf8Validator* const text = assembler.text_validator();
  if (frame.fin && frame.opcode != Opcode::continuation &&
      reader.frame_remaining() == frame.payload_length && available >= frame.payload_length) {
    // Route 2, the common case: the whole message is here. Unmask it in
    // place and hand out a view of the input buffer.
    const MutableByteView payload =
        reader.take_payload(static_cast<std::size_t>(frame.payload_length), text);
    if (!assembler.text_valid(/*complete=*/true)) return fail(errc::invalid_utf8);
    reader.end_frame();
    assembler.end();
    return Message{kind, payload, true, true};
  }

  const auto take =
      static_cast<std::size_t>(std::min<std::uint64_t>(available, reader.frame_remaining()));
  MutableByteView data;
  if (config.delivery == Delivery::whole_messages) {
    // Route 3: the piece is unmasked while it is copied into the assembler
    // (one pass instead of two). Its size was bounded by the limits when
    // the frame header was checked.
    if (take > 0) {
      data = assembler.extend(take);
      reader.unmask_payload(data, reader.unparsed().first(take), text);
      reader.skip(take);
    }
  } else {
    data = reader.take_payload(take, text);  // route 4
  }
  // RFC 6455 8.1: fail as soon as the text cannot be UTF-8, not at the end.
  if (!assembler.text_valid(/*complete=*/false)) return fail(errc::invalid_utf8);
  assembler.count(take);
  const bool frame_done = reader.frame_remaining() == 0;
  const bool message_done = frame_done && frame.fin;
  if (frame_done) reader.end_frame();
  if (message_done) {
    if (!assembler.text_valid(/*complete=*/true)) return fail(errc::invalid_utf8);
    assembler.end();
  }

  if (config.delivery == Delivery::streamed) {
    if (take == 0 && !message_done) return std::nullopt;
    return Message{kind, data, assembler.first_piece(), message_done};
  }
  if (!message_done) return std::nullopt;
  return assembler.deliver();
}

// ---- the end: a close frame, the end of the stream, a failure ----

std::optional<Event> Connection::Impl::handle_close_frame(ByteView payload) {
  const ClosePayload parsed = parse_close_payload(payload);
  if (parsed.error) return fail(parsed.error);
  // RFC 6455 5.5.1: answer with a close, echoing the code.
  if (phase() == Phase::open) queue_close(parsed.code, {});
  feed(LifecycleInput::close_received);
  start_close_wait();
  reader.skip_all();
  return Closed{parsed.code, parsed.reason, {}, lifecycle.sent_close_code};
}

std::optional<Event> Connection::Impl::end_of_input() {
  if (!lifecycle.stream_ended) return std::nullopt;
  return fail(errc::unexpected_eof);
}

std::optional<Event> Connection::Impl::fail(std::error_code error) {
  // RFC 6455 7.1.7: send a close with the reason if none went out yet and
  // the stream is still there, then stop reading.
  const bool transport_gone = error == errc::unexpected_eof || error == errc::close_timeout;
  if (phase() == Phase::open && !transport_gone) queue_close(close_code_for(error), {});
  feed(LifecycleInput::failed);
  reader.discard();
  reader.end_frame();
  assembler.drop_parked();  // dropped with the input it would have been parsed from
  return Closed{CloseCode::abnormal, {}, error, lifecycle.sent_close_code};
}

}  // namespace ws
