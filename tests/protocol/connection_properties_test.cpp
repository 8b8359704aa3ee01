// Properties of a whole Connection (RFC 6455 5, 7): the events do not depend
// on how the input is cut into reads; a client and a server exchange any
// sequence of messages, pings and a close without loss or reordering; and no
// input, however broken, crashes it, grows it past its limits or ends in
// anything but the right close code.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "support/frames.hpp"
#include "ws/base/utf8_validator.hpp"
#include "ws/connection.hpp"
#include "ws/message/prepared_message.hpp"

namespace {

using ws::ByteView;
using ws::CloseCode;
using ws::Config;
using ws::Connection;
using ws::Delivery;
using ws::Fin;
using ws::MessageKind;
using ws::Opcode;
using ws::Role;
using ws::State;
using ws::test::Bytes;
using ws::test::OwnedEvent;

// Payload bytes come from a seeded engine (fast for 64 KiB payloads); the
// structure (counts, kinds, lengths, cuts) comes from rapidcheck so it shrinks.
using Rng = std::mt19937_64;

Rng seeded_rng() { return Rng(*rc::gen::arbitrary<std::uint64_t>()); }

std::size_t pick(Rng& rng, std::size_t lo, std::size_t hi) {
  return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
}

Bytes random_bytes(Rng& rng, std::size_t size) {
  Bytes out(size);
  for (std::byte& b : out) b = static_cast<std::byte>(pick(rng, 0, 255));
  return out;
}

void append_utf8(Bytes& out, std::uint32_t cp) {
  const auto put = [&out](std::uint32_t value) { out.push_back(static_cast<std::byte>(value)); };
  if (cp < 0x80) {
    put(cp);
  } else if (cp < 0x800) {
    put(0xC0 | (cp >> 6));
    put(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    put(0xE0 | (cp >> 12));
    put(0x80 | ((cp >> 6) & 0x3F));
    put(0x80 | (cp & 0x3F));
  } else {
    put(0xF0 | (cp >> 18));
    put(0x80 | ((cp >> 12) & 0x3F));
    put(0x80 | ((cp >> 6) & 0x3F));
    put(0x80 | (cp & 0x3F));
  }
}

/// Valid UTF-8 (RFC 3629) of at least `min_size` bytes (at most 3 more):
/// every encoding length, and the code points at the edges of each.
Bytes random_utf8(Rng& rng, std::size_t min_size) {
  static constexpr std::uint32_t edges[] = {0x0,    0x7F,   0x80,   0x7FF,   0x800,   0xD7FF,
                                            0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x10FFFF};
  Bytes out;
  out.reserve(min_size + 3);
  while (out.size() < min_size) {
    std::uint32_t cp = 0;
    switch (pick(rng, 0, 9)) {
      case 6:
        cp = static_cast<std::uint32_t>(pick(rng, 0x80, 0x7FF));
        break;
      case 7:
        cp = static_cast<std::uint32_t>(pick(rng, 0x800, 0xFFFF - 0x800));
        if (cp >= 0xD800) cp += 0x800;  // skip the surrogates
        break;
      case 8:
        cp = static_cast<std::uint32_t>(pick(rng, 0x10000, 0x10FFFF));
        break;
      case 9:
        cp = edges[pick(rng, 0, std::size(edges) - 1)];
        break;
      default:
        cp = static_cast<std::uint32_t>(pick(rng, 0, 0x7F));
        break;
    }
    append_utf8(out, cp);
  }
  return out;
}

/// A payload length: mostly small, sometimes at the edges of the three
/// length forms of RFC 6455 5.2 (125/126, 65535/65536).
std::size_t gen_length(std::size_t small_max) {
  return *rc::gen::weightedOneOf<std::size_t>(
      {{12, rc::gen::inRange<std::size_t>(0, small_max + 1)},
       {1, rc::gen::element<std::size_t>(0, 125, 126, 127, 65535, 65536)}});
}

std::uint16_t gen_close_code() {
  return *rc::gen::oneOf(rc::gen::element<std::uint16_t>(1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                                         1010, 1011, 1012, 1013, 1014),
                         rc::gen::inRange<std::uint16_t>(3000, 5000));
}

OwnedEvent message_event(MessageKind kind, Bytes payload) {
  OwnedEvent e;
  e.type = OwnedEvent::Type::message;
  e.kind = kind;
  e.payload = std::move(payload);
  return e;
}

OwnedEvent control_event(Opcode opcode, Bytes payload) {
  OwnedEvent e;
  e.type = opcode == Opcode::ping ? OwnedEvent::Type::ping : OwnedEvent::Type::pong;
  e.payload = std::move(payload);
  return e;
}

// ---------------------------------------------------------------------------
// A valid stream of frames as a peer sends them, and the events it must give.

struct WireFrame {
  Opcode opcode = Opcode::binary;
  bool fin = true;
  Bytes payload;
};

struct Scenario {
  std::vector<WireFrame> frames;
  std::vector<OwnedEvent> expected;
};

void add_control(Scenario& s, Rng& rng) {
  const Opcode opcode = *rc::gen::element(Opcode::ping, Opcode::pong);
  Bytes payload = random_bytes(rng, *rc::gen::inRange<std::size_t>(0, 126));
  s.expected.push_back(control_event(opcode, payload));
  s.frames.push_back({opcode, true, std::move(payload)});
}

/// Data messages (text is valid UTF-8, cut anywhere, even inside a code
/// point: RFC 6455 5.6 validates the message, not each frame), fragmented
/// with pings and pongs between fragments (5.4), and pings and pongs alone;
/// optionally ended by a close frame (5.5.1).
Scenario gen_scenario(Rng& rng, std::size_t small_max, std::size_t max_fragments, bool may_close) {
  Scenario s;
  const std::size_t items = *rc::gen::inRange<std::size_t>(0, 10);
  for (std::size_t i = 0; i < items; ++i) {
    if (*rc::gen::inRange(0, 3) == 0) {
      add_control(s, rng);
      continue;
    }
    const MessageKind kind = *rc::gen::element(MessageKind::text, MessageKind::binary);
    const std::size_t fragments = *rc::gen::weightedOneOf<std::size_t>(
        {{3, rc::gen::just<std::size_t>(1)},
         {2, rc::gen::inRange<std::size_t>(2, max_fragments + 1)}});
    std::vector<std::size_t> lengths;
    std::size_t total = 0;
    for (std::size_t f = 0; f < fragments; ++f) {
      lengths.push_back(gen_length(small_max));
      total += lengths.back();
    }
    const Bytes payload =
        kind == MessageKind::text ? random_utf8(rng, total) : random_bytes(rng, total);
    lengths.back() += payload.size() - total;  // UTF-8 may run a few bytes over
    std::size_t offset = 0;
    for (std::size_t f = 0; f < fragments; ++f) {
      const Opcode opcode = f > 0                       ? Opcode::continuation
                            : kind == MessageKind::text ? Opcode::text
                                                        : Opcode::binary;
      const auto begin = payload.begin() + static_cast<std::ptrdiff_t>(offset);
      s.frames.push_back({opcode, f + 1 == fragments,
                          Bytes(begin, begin + static_cast<std::ptrdiff_t>(lengths[f]))});
      offset += lengths[f];
      if (f + 1 < fragments && *rc::gen::inRange(0, 3) == 0) add_control(s, rng);
    }
    s.expected.push_back(message_event(kind, payload));
  }
  if (may_close && *rc::gen::arbitrary<bool>()) {
    OwnedEvent closed;
    closed.type = OwnedEvent::Type::closed;
    Bytes payload;
    if (*rc::gen::inRange(0, 4) == 0) {
      closed.code = CloseCode::no_status;  // an empty close frame (RFC 6455 7.1.5)
    } else {
      const std::uint16_t code = gen_close_code();
      closed.code = static_cast<CloseCode>(code);
      closed.payload = random_utf8(rng, *rc::gen::inRange<std::size_t>(0, 100));
      payload = ws::test::close_payload(code, ws::test::text_of(closed.payload));
    }
    s.frames.push_back({Opcode::close, true, std::move(payload)});
    s.expected.push_back(std::move(closed));
  }
  return s;
}

/// The frames on the wire towards `receiver`: a client's frames are masked
/// with a fresh key each, a server's are not (RFC 6455 5.1, 5.3).
Bytes encode(const std::vector<WireFrame>& frames, Role receiver, Rng& rng) {
  Bytes out;
  for (const WireFrame& f : frames) {
    ws::test::FrameSpec spec;
    spec.opcode = f.opcode;
    spec.fin = f.fin;
    if (receiver == Role::server) {
      spec.mask = ws::MaskKey{};
      for (std::byte& b : *spec.mask) b = static_cast<std::byte>(pick(rng, 0, 255));
    } else {
      spec.mask.reset();
    }
    const Bytes wire = ws::test::frame(spec, f.payload);
    out.insert(out.end(), wire.begin(), wire.end());
  }
  return out;
}

// ---------------------------------------------------------------------------
// Feeding and comparing.

enum class Cuts { one_byte, tiny, medium, large };

Cuts gen_cuts() { return *rc::gen::element(Cuts::one_byte, Cuts::tiny, Cuts::medium, Cuts::large); }

std::size_t next_cut(Cuts cuts, Rng& rng) {
  switch (cuts) {
    case Cuts::one_byte:
      return 1;
    case Cuts::tiny:
      return pick(rng, 1, 8);
    case Cuts::medium:
      return pick(rng, 1, 1500);
    case Cuts::large:
      return pick(rng, 1, 100000);
  }
  return 1;
}

/// Like ws::test::feed, through receive_buffer() and commit_received().
std::vector<OwnedEvent> feed_zero_copy(Connection& c, ByteView bytes) {
  std::vector<OwnedEvent> events;
  while (!bytes.empty()) {
    const ws::MutableByteView space = c.receive_buffer();
    const std::size_t n = std::min(space.size(), bytes.size());
    std::copy_n(bytes.begin(), n, space.begin());
    c.commit_received(n);
    bytes = bytes.subspan(n);
    const std::vector<OwnedEvent> more = ws::test::drain(c);
    events.insert(events.end(), more.begin(), more.end());
    RC_ASSERT((n > 0 || !more.empty()));  // no room and nothing to say: stuck
  }
  return events;
}

/// Feeds `bytes` in reads cut at random points, draining events after each.
std::vector<OwnedEvent> feed_in_pieces(Connection& c, ByteView bytes, Cuts cuts, bool zero_copy,
                                       Rng& rng) {
  std::vector<OwnedEvent> events;
  while (!bytes.empty()) {
    const ByteView piece = bytes.first(std::min(bytes.size(), next_cut(cuts, rng)));
    const std::vector<OwnedEvent> more =
        zero_copy ? feed_zero_copy(c, piece) : ws::test::feed(c, piece);
    events.insert(events.end(), more.begin(), more.end());
    bytes = bytes.subspan(piece.size());
  }
  return events;
}

/// What this side sent after a clean close is not part of the contract of
/// the Closed event (sent_code describes failures); drop it to compare.
std::vector<OwnedEvent> without_clean_sent_code(std::vector<OwnedEvent> events) {
  for (OwnedEvent& e : events) {
    if (e.type == OwnedEvent::Type::closed && !e.error) e.sent_code = CloseCode::abnormal;
  }
  return events;
}

/// Joins streamed pieces into whole messages, checking that pieces are
/// well-formed: the first has is_first, the last is_last, none in between,
/// all of one kind. Control events and Closed pass through where they are.
std::vector<OwnedEvent> join_pieces(const std::vector<OwnedEvent>& events) {
  std::vector<OwnedEvent> out;
  std::optional<OwnedEvent> open;
  for (const OwnedEvent& e : events) {
    if (e.type != OwnedEvent::Type::message) {
      out.push_back(e);
      continue;
    }
    RC_ASSERT(e.is_first == !open.has_value());
    if (!open) {
      open = message_event(e.kind, {});
    }
    RC_ASSERT(e.kind == open->kind);
    open->payload.insert(open->payload.end(), e.payload.begin(), e.payload.end());
    if (e.is_last) {
      out.push_back(*open);
      open.reset();
    }
  }
  RC_ASSERT(!open.has_value());
  return out;
}

Config config_for(Delivery delivery) {
  Config config;
  config.delivery = delivery;
  config.random = ws::test::counting_random_source();
  return config;
}

void check_any_chunking_gives_same_events(Role role, Delivery delivery) {
  Rng rng = seeded_rng();
  const Scenario scenario = gen_scenario(rng, 300, 5, true);
  Bytes input = encode(scenario.frames, role, rng);
  // RFC 6455 5.5.1: nothing follows a close frame; what does is ignored.
  if (!scenario.frames.empty() && scenario.frames.back().opcode == Opcode::close) {
    const Bytes trailing = random_bytes(rng, *rc::gen::inRange<std::size_t>(0, 40));
    input.insert(input.end(), trailing.begin(), trailing.end());
  }
  const Cuts cuts = gen_cuts();
  RC_TAG(static_cast<int>(cuts));
  const bool zero_copy = *rc::gen::arbitrary<bool>();
  // Optionally the stream ends after the input. Bytes buffered when it ends
  // are still processed; a stream that ends without a close handshake is
  // abnormal (RFC 6455 7.1.5, 7.4.1: 1006).
  const bool eof = *rc::gen::arbitrary<bool>();
  std::vector<OwnedEvent> expected = scenario.expected;
  if (eof && (expected.empty() || expected.back().type != OwnedEvent::Type::closed)) {
    OwnedEvent abnormal;
    abnormal.type = OwnedEvent::Type::closed;
    abnormal.code = CloseCode::abnormal;
    abnormal.error = ws::errc::unexpected_eof;
    abnormal.sent_code = CloseCode::abnormal;
    expected.push_back(abnormal);
  }

  Connection whole = Connection::after_handshake(role, config_for(delivery));
  std::vector<OwnedEvent> whole_events;
  if (eof && input.size() <= whole.config().limits.max_buffered_input) {
    // All of it buffered, then the end of stream, then the events.
    RC_ASSERT(whole.receive(input) == input.size());
    whole.receive_eof();
    whole_events = ws::test::drain(whole);
  } else {
    whole_events = ws::test::feed(whole, input);
    if (eof) {
      whole.receive_eof();
      const std::vector<OwnedEvent> more = ws::test::drain(whole);
      whole_events.insert(whole_events.end(), more.begin(), more.end());
    }
  }
  Connection pieces = Connection::after_handshake(role, config_for(delivery));
  std::vector<OwnedEvent> piece_events = feed_in_pieces(pieces, input, cuts, zero_copy, rng);
  if (eof) {
    pieces.receive_eof();
    const std::vector<OwnedEvent> more = ws::test::drain(pieces);
    piece_events.insert(piece_events.end(), more.begin(), more.end());
  }

  if (delivery == Delivery::whole_messages) {
    RC_ASSERT(piece_events == whole_events);
    RC_ASSERT(without_clean_sent_code(whole_events) == expected);
  } else {
    // Streamed pieces may be cut differently; each message joins up the same.
    RC_ASSERT(without_clean_sent_code(join_pieces(whole_events)) == expected);
    RC_ASSERT(without_clean_sent_code(join_pieces(piece_events)) == expected);
  }
  // What the connection answers (pongs, the close reply) is the same too.
  RC_ASSERT(ws::test::take_output(pieces) == ws::test::take_output(whole));
  RC_ASSERT(pieces.state() == whole.state());
  RC_ASSERT(pieces.should_close_transport() == whole.should_close_transport());
}

RC_GTEST_PROP(ConnectionProperties, ServerEventsDoNotDependOnHowInputIsCut, ()) {
  check_any_chunking_gives_same_events(Role::server, Delivery::whole_messages);
}

RC_GTEST_PROP(ConnectionProperties, ClientEventsDoNotDependOnHowInputIsCut, ()) {
  check_any_chunking_gives_same_events(Role::client, Delivery::whole_messages);
}

RC_GTEST_PROP(ConnectionProperties, ServerStreamedPiecesJoinToTheSameMessagesHoweverInputIsCut,
              ()) {
  check_any_chunking_gives_same_events(Role::server, Delivery::streamed);
}

RC_GTEST_PROP(ConnectionProperties, ClientStreamedPiecesJoinToTheSameMessagesHoweverInputIsCut,
              ()) {
  check_any_chunking_gives_same_events(Role::client, Delivery::streamed);
}

// ---------------------------------------------------------------------------
// A client and a server talking to each other.

struct Peer {
  Connection connection;
  std::vector<OwnedEvent> events;
  std::vector<OwnedEvent> sent_messages;
  std::vector<Bytes> sent_pings;
};

/// Writes up to `limit` bytes of from's pending output (as a transport
/// would, possibly stopping inside a frame) and delivers them to `to` in
/// reads cut at random points.
void transfer(Peer& from, Peer& to, std::size_t limit, Rng& rng) {
  Bytes written;
  for (const ws::OutputBuffer& buffer : from.connection.pending_output()) {
    const std::size_t n = std::min(buffer.size, limit - written.size());
    written.insert(written.end(), buffer.data, buffer.data + n);
    if (written.size() == limit) break;
  }
  from.connection.consume_output(written.size());
  ByteView rest(written);
  while (!rest.empty()) {
    const ByteView piece = rest.first(std::min(rest.size(), pick(rng, 1, 5000)));
    const std::vector<OwnedEvent> more = ws::test::feed(to.connection, piece);
    to.events.insert(to.events.end(), more.begin(), more.end());
    rest = rest.subspan(piece.size());
  }
}

void transfer_some(Peer& a, Peer& b, Rng& rng) {
  const std::size_t rounds = pick(rng, 1, 4);
  for (std::size_t i = 0; i < rounds; ++i) {
    const std::size_t limit = pick(rng, 0, 3) == 0 ? pick(rng, 1, 20) : pick(rng, 1, 70000);
    if (pick(rng, 0, 1) == 0) {
      transfer(a, b, limit, rng);
    } else {
      transfer(b, a, limit, rng);
    }
  }
}

/// Moves bytes both ways until neither side has anything to write.
void settle(Peer& a, Peer& b, Rng& rng) {
  constexpr std::size_t all = std::numeric_limits<std::size_t>::max();
  for (int round = 0; round < 100; ++round) {
    if (a.connection.pending_output_size() == 0 && b.connection.pending_output_size() == 0) return;
    transfer(a, b, all, rng);
    transfer(b, a, all, rng);
  }
  RC_FAIL("the connections keep writing to each other");
}

std::size_t gen_message_size() {
  return *rc::gen::weightedOneOf<std::size_t>({{15, rc::gen::inRange<std::size_t>(0, 600)},
                                               {1, rc::gen::inRange<std::size_t>(0, 200 * 1024)}});
}

std::error_code send(Connection& c, MessageKind kind, ByteView payload, Fin fin) {
  return kind == MessageKind::text ? c.send_text(ws::as_text(payload), fin)
                                   : c.send_binary(payload, fin);
}

void send_ping(Peer& self, Rng& rng) {
  const Bytes payload = random_bytes(rng, *rc::gen::inRange<std::size_t>(0, 126));
  RC_ASSERT(!self.connection.ping(payload));
  self.sent_pings.push_back(payload);
}

/// Cut points for a streamed send; text is cut between code points so each
/// piece handed to send_text is UTF-8 itself.
std::vector<std::size_t> cut_points(const Bytes& payload, MessageKind kind, std::size_t pieces,
                                    Rng& rng) {
  std::vector<std::size_t> cuts{0};
  for (std::size_t i = 1; i < pieces; ++i) {
    std::size_t at = pick(rng, 0, payload.size());
    while (kind == MessageKind::text && at < payload.size() &&
           (std::to_integer<unsigned>(payload[at]) & 0xC0U) == 0x80U) {
      ++at;
    }
    cuts.push_back(at);
  }
  cuts.push_back(payload.size());
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

void send_message(Peer& self, Peer& other, Rng& rng) {
  const MessageKind kind = *rc::gen::element(MessageKind::text, MessageKind::binary);
  const std::size_t size = gen_message_size();
  const Bytes payload =
      kind == MessageKind::text ? random_utf8(rng, size) : random_bytes(rng, size);
  if (*rc::gen::arbitrary<bool>()) {
    RC_ASSERT(!send(self.connection, kind, payload, Fin::yes));
  } else {
    // Streamed send (RFC 6455 5.4), with pings and transfers between pieces.
    const std::vector<std::size_t> cuts =
        cut_points(payload, kind, *rc::gen::inRange<std::size_t>(1, 5), rng);
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
      const ByteView piece = ByteView(payload).subspan(cuts[i], cuts[i + 1] - cuts[i]);
      const bool last = i + 2 == cuts.size();
      RC_ASSERT(!send(self.connection, kind, piece, last ? Fin::yes : Fin::no));
      if (!last && pick(rng, 0, 2) == 0) send_ping(self, rng);
      if (!last && pick(rng, 0, 2) == 0) transfer_some(self, other, rng);
    }
  }
  self.sent_messages.push_back(message_event(kind, payload));
}

/// A message framed once and queued, twice, by reference (server only).
void send_prepared(Peer& server, Rng& rng) {
  const MessageKind kind = *rc::gen::element(MessageKind::text, MessageKind::binary);
  const std::size_t size = gen_message_size();
  const Bytes payload =
      kind == MessageKind::text ? random_utf8(rng, size) : random_bytes(rng, size);
  const std::shared_ptr<const ws::PreparedMessage> prepared =
      ws::PreparedMessage::make(kind, payload);
  for (int i = 0; i < 2; ++i) {
    RC_ASSERT(!server.connection.send_prepared(prepared));
    server.sent_messages.push_back(message_event(kind, payload));
  }
}

std::vector<OwnedEvent> of_type(const std::vector<OwnedEvent>& events, OwnedEvent::Type type) {
  std::vector<OwnedEvent> out;
  for (const OwnedEvent& e : events) {
    if (e.type == type) out.push_back(e);
  }
  return out;
}

std::vector<Bytes> payloads(const std::vector<OwnedEvent>& events) {
  std::vector<Bytes> out;
  for (const OwnedEvent& e : events) out.push_back(e.payload);
  return out;
}

Config gen_peer_config(Rng& rng) {
  Config config;
  config.delivery = *rc::gen::element(Delivery::whole_messages, Delivery::streamed);
  config.auto_fragment_size =
      *rc::gen::weightedOneOf<std::size_t>({{2, rc::gen::just<std::size_t>(0)},
                                            {1, rc::gen::inRange<std::size_t>(16, 4096)},
                                            {1, rc::gen::inRange<std::size_t>(4096, 70000)}});
  auto engine = std::make_shared<Rng>(rng());
  config.random = [engine](ws::MutableByteView out) {
    for (std::byte& b : out) b = static_cast<std::byte>((*engine)() & 0xFFU);
  };
  return config;
}

enum class Closer { client, server, both };

RC_GTEST_PROP(ConnectionProperties,
              ClientAndServerExchangeMessagesPingsAndCloseWithoutLossOrReordering, ()) {
  Rng rng = seeded_rng();
  Peer client{Connection::after_handshake(Role::client, gen_peer_config(rng)), {}, {}, {}};
  Peer server{Connection::after_handshake(Role::server, gen_peer_config(rng)), {}, {}, {}};

  const std::size_t actions = *rc::gen::inRange<std::size_t>(0, 16);
  for (std::size_t i = 0; i < actions; ++i) {
    const bool by_client = *rc::gen::arbitrary<bool>();
    Peer& self = by_client ? client : server;
    Peer& other = by_client ? server : client;
    switch (*rc::gen::inRange(0, 6)) {
      case 0:
      case 1:
        send_message(self, other, rng);
        break;
      case 2:
        send_ping(self, rng);
        break;
      case 3:
        send_prepared(server, rng);
        break;
      default:
        transfer_some(client, server, rng);
        break;
    }
  }
  settle(client, server, rng);

  // RFC 6455 5.5.1, 7.1.2: either side starts the close, or both at once.
  const Closer closer = *rc::gen::element(Closer::client, Closer::server, Closer::both);
  RC_TAG(closer == Closer::client   ? "client closes"
         : closer == Closer::server ? "server closes"
                                    : "both close");
  const std::uint16_t client_code = gen_close_code();
  const std::uint16_t server_code = gen_close_code();
  const Bytes client_reason = random_utf8(rng, *rc::gen::inRange<std::size_t>(0, 100));
  const Bytes server_reason = random_utf8(rng, *rc::gen::inRange<std::size_t>(0, 100));
  if (closer != Closer::server) {
    RC_ASSERT(!client.connection.close(client_code, ws::test::text_of(client_reason)));
    RC_ASSERT(client.connection.state() == State::closing);
  }
  if (closer != Closer::client) {
    RC_ASSERT(!server.connection.close(server_code, ws::test::text_of(server_reason)));
    RC_ASSERT(server.connection.state() == State::closing);
  }
  settle(client, server, rng);

  // Every message arrived once, in order, with identical bytes.
  RC_ASSERT(of_type(join_pieces(server.events), OwnedEvent::Type::message) == client.sent_messages);
  RC_ASSERT(of_type(join_pieces(client.events), OwnedEvent::Type::message) == server.sent_messages);
  // Every ping arrived and was answered by a pong with its payload (5.5.2-3).
  RC_ASSERT(payloads(of_type(server.events, OwnedEvent::Type::ping)) == client.sent_pings);
  RC_ASSERT(payloads(of_type(client.events, OwnedEvent::Type::ping)) == server.sent_pings);
  RC_ASSERT(payloads(of_type(client.events, OwnedEvent::Type::pong)) == client.sent_pings);
  RC_ASSERT(payloads(of_type(server.events, OwnedEvent::Type::pong)) == server.sent_pings);

  // Each side ends with one clean Closed event carrying what the peer sent.
  for (Peer* peer : {&client, &server}) {
    RC_ASSERT(of_type(peer->events, OwnedEvent::Type::closed).size() == 1U);
    RC_ASSERT(peer->events.back().type == OwnedEvent::Type::closed);
    RC_ASSERT(!peer->events.back().error);
    RC_ASSERT(peer->connection.state() == State::closed);
  }
  const OwnedEvent& client_closed = client.events.back();
  const OwnedEvent& server_closed = server.events.back();
  switch (closer) {
    case Closer::client:
      RC_ASSERT(static_cast<std::uint16_t>(server_closed.code) == client_code);
      RC_ASSERT(server_closed.payload == client_reason);
      // The reply echoes the code (RFC 6455 5.5.1: "typically echos").
      RC_ASSERT(static_cast<std::uint16_t>(client_closed.code) == client_code);
      break;
    case Closer::server:
      RC_ASSERT(static_cast<std::uint16_t>(client_closed.code) == server_code);
      RC_ASSERT(client_closed.payload == server_reason);
      RC_ASSERT(static_cast<std::uint16_t>(server_closed.code) == server_code);
      break;
    case Closer::both:
      RC_ASSERT(static_cast<std::uint16_t>(client_closed.code) == server_code);
      RC_ASSERT(client_closed.payload == server_reason);
      RC_ASSERT(static_cast<std::uint16_t>(server_closed.code) == client_code);
      RC_ASSERT(server_closed.payload == client_reason);
      break;
  }

  // RFC 6455 7.1.1: the server closes the TCP connection first; the client
  // waits for it.
  RC_ASSERT(server.connection.should_close_transport());
  RC_ASSERT(!client.connection.should_close_transport());
  client.connection.receive_eof();
  RC_ASSERT(ws::test::drain(client.connection).empty());
  RC_ASSERT(client.connection.should_close_transport());
  // Nothing more can be sent (RFC 6455 5.5.1).
  RC_ASSERT(client.connection.send_text("late") == ws::errc::not_open);
  RC_ASSERT(server.connection.send_text("late") == ws::errc::not_open);
}

// ---------------------------------------------------------------------------
// Broken input.

constexpr std::size_t small_frame = 1000;
constexpr std::size_t small_message = 3000;
constexpr std::size_t small_input = 512;

Config small_limits(Delivery delivery) {
  Config config;
  config.limits.max_frame_size = small_frame;
  config.limits.max_message_size = small_message;
  config.limits.max_buffered_input = small_input;
  config.delivery = delivery;
  config.random = ws::test::counting_random_source();
  return config;
}

/// Random bytes, or a valid stream with bits flipped and bytes inserted,
/// deleted or overwritten.
Bytes gen_broken_input(Role receiver, Rng& rng) {
  if (*rc::gen::inRange(0, 4) == 0)
    return random_bytes(rng, *rc::gen::inRange<std::size_t>(0, 4000));
  const Scenario scenario = gen_scenario(rng, 1100, 8, true);
  Bytes input = encode(scenario.frames, receiver, rng);
  const std::size_t mutations = *rc::gen::inRange<std::size_t>(0, 6);
  for (std::size_t i = 0; i < mutations && !input.empty(); ++i) {
    const std::size_t at = pick(rng, 0, input.size() - 1);
    const auto where = input.begin() + static_cast<std::ptrdiff_t>(at);
    switch (pick(rng, 0, 3)) {
      case 0:
        input[at] ^= static_cast<std::byte>(1U << pick(rng, 0, 7));
        break;
      case 1:
        input.insert(where, static_cast<std::byte>(pick(rng, 0, 255)));
        break;
      case 2:
        input.erase(where);
        break;
      default:
        input[at] = static_cast<std::byte>(pick(rng, 0, 255));
        break;
    }
  }
  return input;
}

/// RFC 6455 7.4.1: 1002 for a protocol error, 1007 for data that does not
/// match the message type (text that is not UTF-8), 1009 for too big.
std::optional<std::uint16_t> close_code_for(std::error_code error) {
  if (error == ws::errc::unexpected_eof) return std::nullopt;  // no stream to write to
  if (error == ws::errc::invalid_utf8) return 1007;
  if (error == ws::condition::limit_exceeded) return 1009;
  return 1002;
}

void check_broken_input_fails_cleanly(Role role) {
  Rng rng = seeded_rng();
  const Delivery delivery = *rc::gen::element(Delivery::whole_messages, Delivery::streamed);
  const Bytes input = gen_broken_input(role, rng);
  const bool zero_copy = *rc::gen::arbitrary<bool>();
  const bool eof = *rc::gen::arbitrary<bool>();
  Connection c = Connection::after_handshake(role, small_limits(delivery));

  std::vector<OwnedEvent> events;
  std::size_t taken_since_drain = 0;  // bytes accepted since next_event() last ran dry
  std::size_t streamed_size = 0;      // of the streamed message in progress
  bool closed_seen = false;
  ws::Utf8Validator utf8;
  const auto drain = [&] {
    while (std::optional<ws::Event> event = c.next_event()) {
      const OwnedEvent e = ws::test::own(*event);
      // Nothing follows the Closed event.
      RC_ASSERT(!closed_seen);
      closed_seen = e.type == OwnedEvent::Type::closed;
      if (e.type == OwnedEvent::Type::message) {
        streamed_size += e.payload.size();
        RC_ASSERT(streamed_size <= small_message);
        // Text handed out is UTF-8, up to a code point a later piece ends.
        if (e.kind == MessageKind::text) RC_ASSERT(utf8.feed(e.payload));
        if (e.is_last) {
          RC_ASSERT((e.kind != MessageKind::text || utf8.is_complete()));
          streamed_size = 0;
          utf8.reset();
        }
      }
      events.push_back(e);
    }
    taken_since_drain = 0;
  };

  ByteView rest(input);
  while (!rest.empty()) {
    const ByteView offered = rest.first(std::min(rest.size(), pick(rng, 1, 700)));
    const bool open = c.state() != State::closed;
    std::size_t taken = 0;
    if (zero_copy && open) {
      const ws::MutableByteView space = c.receive_buffer();
      RC_ASSERT(taken_since_drain + space.size() <= small_input);
      taken = std::min(space.size(), offered.size());
      std::memcpy(space.data(), offered.data(), taken);
      c.commit_received(taken);
    } else {
      taken = c.receive(offered);
      RC_ASSERT(taken <= offered.size());
    }
    if (open) {
      // The input buffer never holds more than max_buffered_input.
      RC_ASSERT(taken_since_drain + taken <= small_input);
      // Once next_event() ran dry there is room again (or the caller would
      // wait for ever).
      if (taken_since_drain == 0) RC_ASSERT(taken > 0);
    } else {
      RC_ASSERT(taken == offered.size());  // RFC 6455 7.1.7: dropped once closed
    }
    taken_since_drain += taken;
    rest = rest.subspan(taken);
    if (taken < offered.size() || pick(rng, 0, 1) == 0) drain();
  }
  drain();
  if (eof) {
    c.receive_eof();
    drain();
  }

  const Bytes output = ws::test::take_output(c);
  const std::vector<ws::test::ParsedFrame> frames = ws::test::parse_frames(output);
  for (const ws::test::ParsedFrame& f : frames)
    RC_ASSERT(f.header.masked == (role == Role::client));
  std::vector<ws::test::ParsedFrame> closes;
  std::copy_if(frames.begin(), frames.end(), std::back_inserter(closes),
               [](const ws::test::ParsedFrame& f) { return f.header.opcode == Opcode::close; });

  if (events.empty() || events.back().type != OwnedEvent::Type::closed) {
    // Still open, waiting for more input; end of stream would have ended it.
    RC_ASSERT(!eof);
    RC_ASSERT(c.state() == State::open);
    RC_ASSERT(closes.empty());
    return;
  }
  const OwnedEvent& closed = events.back();
  RC_TAG(closed.error.message());
  RC_ASSERT(c.state() == State::closed);
  if (!closed.error) {
    // The mutations left a valid close frame: a clean close, echoed.
    RC_ASSERT(closes.size() == 1U);
    RC_ASSERT(frames.back().header.opcode == Opcode::close);
    RC_ASSERT(c.should_close_transport() == (role == Role::server || eof));
  } else {
    RC_ASSERT(closed.error.category() == ws::error_category());
    const bool expected_error = closed.error == ws::condition::protocol_violation ||
                                closed.error == ws::condition::limit_exceeded ||
                                (eof && closed.error == ws::errc::unexpected_eof);
    RC_ASSERT(expected_error);
    const std::optional<std::uint16_t> code = close_code_for(closed.error);
    if (code) {
      RC_ASSERT(closes.size() == 1U);
      RC_ASSERT(frames.back().header.opcode == Opcode::close);
      RC_ASSERT(closes.front().payload == ws::test::close_payload(*code));
      RC_ASSERT(static_cast<std::uint16_t>(closed.sent_code) == *code);
    } else {
      RC_ASSERT(closes.empty());
      RC_ASSERT(closed.sent_code == CloseCode::abnormal);
    }
    RC_ASSERT(c.should_close_transport());  // RFC 6455 7.1.7
  }
  // Nothing after the Closed event, whatever else arrives.
  const Bytes more = random_bytes(rng, 100);
  RC_ASSERT(c.receive(more) == more.size());
  RC_ASSERT(!c.next_event().has_value());
  RC_ASSERT(c.pending_output_size() == 0U);
}

RC_GTEST_PROP(ConnectionProperties, ServerSurvivesBrokenInputWithinLimitsAndClosesWithRightCode,
              ()) {
  check_broken_input_fails_cleanly(Role::server);
}

RC_GTEST_PROP(ConnectionProperties, ClientSurvivesBrokenInputWithinLimitsAndClosesWithRightCode,
              ()) {
  check_broken_input_fails_cleanly(Role::client);
}

}  // namespace
