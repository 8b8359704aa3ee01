// The driver shared by the Connection fuzzers: how an input becomes a
// configuration, a byte stream and the cuts in it, and the contract every
// event and every written byte is checked against.
//
// Input layout:
//   byte 0       flags (Flag below)
//   byte 1       bits 0-4: n, the number of chunk-size bytes at the end of
//                the input; bit 5: timed (below); bit 6: a second
//                target-specific choice; bit 7: an eager transport, that
//                writes the output after every event (else only after each
//                piece is read and its events pulled; WS_FUZZ_EAGER_WRITES=1
//                in the environment forces eager writes)
//   ...          the byte stream the peer sends
//   last n bytes chunk sizes, used in turn (0 = all that is left); with
//                n = 0 the stream arrives in one piece
//
// Timed: every timer is on (short_timeouts below) and the harness's clock
// starts at the first piece and moves on after each piece by
// (chunk size % 16) * 3 ms (0 with no chunk sizes); once the stream is
// read, the clock jumps to each deadline in turn until none is left. Without
// it advance_time() is never called, so no timer may act.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "reference_utf8.hpp"
#include "wire_reader.hpp"
#include "ws/connection.hpp"

namespace fuzz {

enum Flag : std::uint8_t {
  streamed = 1,          // Delivery::streamed
  small_limits = 2,      // limits the fuzzer's inputs reach easily
  no_auto_pong = 4,      // Config::auto_pong off
  app_sends = 8,         // the application sends a text message after each piece
  app_closes = 16,       // the application starts the close after the first piece
  partial_output = 32,   // the transport writes only part of the output each time
  target_specific = 64,  // meaning chosen by each fuzzer
  auto_fragment = 128,   // Config::auto_fragment_size = 2
};

struct Script {
  std::uint8_t flags = 0;
  bool eager_writes = false;
  bool timed = false;
  bool target_specific_2 = false;
  ws::ByteView stream;
  std::span<const std::uint8_t> chunks;
};

inline Script read_script(const std::uint8_t* data, std::size_t size) {
  Script s;
  if (size == 0) return s;
  s.flags = data[0];
  if (size == 1) return s;
  const std::size_t body = size - 2;
  static const bool force_eager = std::getenv("WS_FUZZ_EAGER_WRITES") != nullptr;
  s.eager_writes = (data[1] & 0x80U) != 0 || force_eager;
  s.target_specific_2 = (data[1] & 0x40U) != 0;
  s.timed = (data[1] & 0x20U) != 0;
  const std::size_t n = std::min<std::size_t>(data[1] & 0x1FU, body);
  s.stream = ws::ByteView(reinterpret_cast<const std::byte*>(data + 2), body - n);
  s.chunks = std::span<const std::uint8_t>(data + 2 + body - n, n);
  return s;
}

/// The timeouts of a timed script: the keepalive fires several times within
/// the idle timeout, and a few pieces' steps reach any of them.
inline ws::Timeouts short_timeouts() {
  using std::chrono::milliseconds;
  ws::Timeouts t;
  t.keepalive_interval = milliseconds(8);
  t.idle_timeout = milliseconds(40);
  t.close_timeout = milliseconds(20);
  t.handshake_timeout = milliseconds(30);
  return t;
}

inline ws::Config make_config(const Script& script) {
  const std::uint8_t flags = script.flags;
  ws::Config config;
  if (script.timed) config.timeouts = short_timeouts();
  if ((flags & small_limits) != 0) {
    config.limits.max_frame_size = 200;
    config.limits.max_message_size = 400;
    config.limits.max_buffered_input = 256;
  } else {
    config.limits.max_frame_size = 2048;
    config.limits.max_message_size = 4096;
    config.limits.max_buffered_input = 1024;
  }
  config.http_limits.max_head_size = 1024;
  config.http_limits.max_header_count = 16;
  if ((flags & streamed) != 0) config.delivery = ws::Delivery::streamed;
  if ((flags & no_auto_pong) != 0) config.auto_pong = false;
  if ((flags & auto_fragment) != 0) config.auto_fragment_size = 2;
  // Deterministic keys: the client's handshake key is bytes 0..15, so a
  // seed can carry the matching Sec-WebSocket-Accept.
  config.random = [counter = std::uint8_t{0}](ws::MutableByteView out) mutable {
    for (std::byte& b : out) b = static_cast<std::byte>(counter++);
  };
  return config;
}

/// RFC 6455 7.4.1: the code a side sends when it fails the connection for
/// `error`.
inline std::uint16_t expected_close_code(std::error_code error) {
  if (error == ws::errc::invalid_utf8) return 1007;
  if (error == ws::condition::limit_exceeded) return 1009;
  if (error == ws::errc::idle_timeout) return 1001;
  return 1002;
}

/// Drives one Connection through a Script and checks it.
class Harness {
 public:
  Harness(ws::Connection& c, const Script& script, bool expect_http_head)
      : c_(c),
        script_(script),
        limits_(c.config().limits),
        wire_(c.role(), expect_http_head),
        opened_(c.state() == ws::State::open) {}

  /// Bytes the peer sends right before the script's stream (a handshake, say),
  /// cut into pieces together with it.
  void set_prefix(ws::ByteView prefix) { prefix_ = prefix; }

  /// The opening handshake was done before run().
  void mark_opened() {
    opened_ = true;
    upgrade_requested_ = true;
  }
  /// The Connection was made for a request the application read itself
  /// (accept_upgrade): its first event is Opened.
  void mark_accepted() {
    opened_ = false;
    upgrade_requested_ = true;
  }
  const WireReader& wire() const { return wire_; }
  /// The Closed event, once run() is done.
  const ws::Closed& closed() const { return *closed_event_; }
  /// The transport writes everything pending.
  void write_output() { wire_.drain(c_); }

  /// Feeds the stream, then the end of stream, and checks the end state.
  void run() {
    std::vector<std::byte> first;
    ws::ByteView stream = script_.stream;
    if (!prefix_.empty()) {
      first.assign(prefix_.begin(), prefix_.end());
      first.insert(first.end(), stream.begin(), stream.end());
      stream = first;
    }
    if (script_.eager_writes) wire_.drain(c_);
    if (script_.timed) tick();
    std::size_t offset = 0;
    std::size_t chunk_index = 0;
    std::size_t round = 0;
    while (offset < stream.size()) {
      std::size_t n = stream.size() - offset;
      std::uint8_t size = 0;
      if (!script_.chunks.empty()) {
        size = script_.chunks[chunk_index++ % script_.chunks.size()];
        if (size != 0) n = std::min<std::size_t>(size, n);
      }
      // Offer the piece until it is all taken, pulling events in between.
      std::size_t done = 0;
      while (done < n) {
        const ws::ByteView piece = stream.subspan(offset + done, n - done);
        std::size_t taken = 0;
        if ((chunk_index & 1U) != 0) {
          // The zero-copy path: read straight into the input buffer.
          const ws::MutableByteView space = c_.receive_buffer();
          taken = std::min(space.size(), piece.size());
          std::copy_n(piece.begin(), taken, space.begin());
          c_.commit_received(taken);
        } else {
          // receive_room() is what receive() takes in full (a transport
          // that reads into its own buffer relies on it).
          const std::size_t room = c_.receive_room();
          taken = c_.receive(piece);
          check(taken >= std::min(room, piece.size()));
          if (closed_) check(taken == piece.size());  // a closed connection drops everything
        }
        check(taken <= piece.size());
        taken_since_events_ += taken;
        if (taken > 0) input_since_tick_ = true;
        // Parsing happens in next_event(), so until then the input limit holds.
        if (!closed_) check(taken_since_events_ <= limits_.max_buffered_input);
        done += taken;
        const bool any_event = pull_events();
        check(taken > 0 || any_event);  // stuck: took nothing and said nothing
      }
      offset += n;
      act(round++);
      if (script_.timed) {
        now_ += std::chrono::milliseconds(size % 16 * 3);
        tick();
      }
    }
    if (script_.timed) run_out_the_clock();
    c_.receive_eof();
    pull_events();
    check(closed_);
    check(c_.state() == ws::State::closed);
    wire_.drain(c_);
    check(wire_.at_frame_boundary());
    check(c_.should_close_transport());
    finish();
  }

 private:
  // The transport's timer: passes the time in, pulls what it caused and
  // checks that no deadline is left behind (the loop may need a second call
  // when an event was already pending) and that a connection with no input
  // for the idle timeout is no longer open.
  void tick() {
    if (!first_tick_) first_tick_ = now_;
    // The Connection dates the application's close from the first
    // advance_time after it, as it dates input.
    if (app_closed_ && !close_tick_) close_tick_ = now_;
    if (input_since_tick_ || now_ == *first_tick_) {
      last_input_tick_ = now_;
      input_since_tick_ = false;
    }
    std::optional<ws::TimePoint> deadline;
    for (int round = 0; round < 3; ++round) {
      c_.advance_time(now_);
      pull_events();
      deadline = c_.next_deadline();
      if (!deadline || *deadline > now_) break;
    }
    check(!deadline || *deadline > now_);
    if (c_.state() == ws::State::open) {
      check(now_ < last_input_tick_ + short_timeouts().idle_timeout);
    }
    if (!opened_ && !closed_) {
      check(now_ < *first_tick_ + short_timeouts().handshake_timeout);
    }
    if (c_.state() == ws::State::closing && close_tick_) {
      check(now_ < *close_tick_ + short_timeouts().close_timeout);
    }
  }

  // No timeout acts before its time: the time of the tick that reported it
  // is at least the timeout past what started it.
  void check_timeout_not_early(std::error_code error) const {
    const ws::Timeouts t = short_timeouts();
    if (error == ws::errc::idle_timeout) check(now_ >= last_input_tick_ + t.idle_timeout);
    if (error == ws::errc::handshake_timeout) check(now_ >= *first_tick_ + t.handshake_timeout);
    if (error == ws::errc::close_timeout)
      check(close_tick_ && now_ >= *close_tick_ + t.close_timeout);
  }

  // After the stream: the peer sends nothing more, so the timers decide.
  // Every deadline is finite, and the idle or close timeout ends each one.
  void run_out_the_clock() {
    for (int step = 0; step < 32; ++step) {
      const std::optional<ws::TimePoint> deadline = c_.next_deadline();
      if (!deadline) break;
      now_ = std::max(now_, *deadline);
      tick();
      act_transport();
    }
    check(!c_.next_deadline().has_value());
  }

  // The application's and the transport's turn after each piece.
  void act(std::size_t round) {
    if ((script_.flags & app_sends) != 0 && c_.state() == ws::State::open) {
      check(!c_.send_text("hello"));
    }
    if ((script_.flags & app_closes) != 0 && round == 0 && c_.state() == ws::State::open) {
      check(!c_.close(ws::CloseCode::normal, "bye"));
      app_closed_ = true;
    }
    act_transport();
  }

  void act_transport() {
    if ((script_.flags & partial_output) != 0) {
      wire_.drain(c_, c_.pending_output_size() / 2 + 1);
    } else {
      wire_.drain(c_);
    }
    match_pongs();
    // Only the keepalive pings: the application here never pings.
    if (!script_.timed) check(wire_.pings() == 0);
  }

  bool pull_events() {
    bool any = false;
    while (std::optional<ws::Event> event = c_.next_event()) {
      any = true;
      on_event(*event);
      if (script_.eager_writes) wire_.drain(c_);
    }
    taken_since_events_ = 0;
    return any;
  }

  void on_event(const ws::Event& event) {
    if (trace())
      std::fprintf(stderr, "event %zu (state %d)\n", event.index(), static_cast<int>(c_.state()));
    check(!closed_);  // nothing after Closed
    if (const auto* m = std::get_if<ws::Message>(&event)) {
      on_message(*m);
    } else if (const auto* ping = std::get_if<ws::Ping>(&event)) {
      check(opened_ && ping->payload.size() <= 125);
      // RFC 6455 5.5.2: answered with the same payload while open.
      if (c_.config().auto_pong && c_.state() == ws::State::open) {
        expected_pongs_.emplace_back(
            reinterpret_cast<const std::uint8_t*>(ping->payload.data()),
            reinterpret_cast<const std::uint8_t*>(ping->payload.data()) + ping->payload.size());
      }
    } else if (const auto* pong = std::get_if<ws::Pong>(&event)) {
      check(opened_ && pong->payload.size() <= 125);
    } else if (const auto* closed = std::get_if<ws::Closed>(&event)) {
      on_closed(*closed);
    } else if (const auto* opened = std::get_if<ws::Opened>(&event)) {
      check(!opened_ && !rejected_);
      check(opened->subprotocol.empty() || opened->subprotocol == "chat" ||
            opened->subprotocol == "superchat");
      check(c_.role() == ws::Role::client || upgrade_requested_);
      check(opened->extensions.empty());  // none offered
      check(c_.state() == ws::State::open);
      opened_ = true;
    } else if (const auto* rejected = std::get_if<ws::Rejected>(&event)) {
      check(!opened_ && !rejected_ && c_.role() == ws::Role::client);
      check(rejected->status != 101 && rejected->status >= 100 && rejected->status <= 999);
      check(rejected->body.size() <= limits_.max_buffered_input);
      rejected_ = true;
    } else if (std::holds_alternative<ws::UpgradeRequested>(event)) {
      check(!opened_ && !upgrade_requested_ && c_.role() == ws::Role::server);
      upgrade_requested_ = true;
      check(!c_.accept());
    } else {
      check(false);  // HttpRequested: serve_plain_http is off
    }
  }

  void on_message(const ws::Message& m) {
    check(opened_);
    check(m.payload.size() <= limits_.max_message_size);
    if (c_.config().delivery == ws::Delivery::whole_messages) {
      check(m.is_first && m.is_last);
      if (m.kind == ws::MessageKind::text) check(reference_utf8(m.payload).valid);
      return;
    }
    // Streamed: pieces of one message in order; text valid up to a code
    // point that may continue in the next piece.
    check(m.is_first == !in_message_);
    if (m.is_first) {
      message_.clear();
      checked_ = 0;
      kind_ = m.kind;
    }
    check(m.kind == kind_);
    message_.insert(message_.end(), m.payload.begin(), m.payload.end());
    check(message_.size() <= limits_.max_message_size);
    if (m.kind == ws::MessageKind::text) {
      const Utf8Verdict verdict = reference_utf8(message_, checked_);
      checked_ = verdict.complete_prefix;
      check(!verdict.bad_byte.has_value());
      if (m.is_last) check(verdict.valid);
    }
    in_message_ = !m.is_last;
  }

  void on_closed(const ws::Closed& closed) {
    closed_ = true;
    check(c_.state() == ws::State::closed);
    closed_event_ = closed;
    if (!closed.error) {
      // A clean close: the peer's close frame was valid.
      check(opened_);
      const auto code = static_cast<std::uint16_t>(closed.code);
      check(closed.code == ws::CloseCode::no_status || (code >= 1000 && code <= 1003) ||
            (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999));
      check(closed.reason.size() <= 123 && reference_utf8(ws::as_bytes(closed.reason)).valid);
      if (closed.code == ws::CloseCode::no_status) check(closed.reason.empty());
      return;
    }
    check(closed.code == ws::CloseCode::abnormal);
    check(closed.reason.empty());
    if (script_.timed) check_timeout_not_early(closed.error);
    if (!opened_) {
      // The opening handshake failed: no frame goes out.
      check(closed.error == ws::condition::handshake_failed ||
            closed.error == ws::errc::unexpected_eof ||
            (script_.timed && closed.error == ws::errc::handshake_timeout));
      check(!rejected_ || closed.error == ws::errc::unexpected_status);
      check(closed.sent_code == ws::CloseCode::abnormal);
      return;
    }
    const bool transport = closed.error == ws::errc::unexpected_eof;
    const bool timer =
        closed.error == ws::errc::idle_timeout || closed.error == ws::errc::close_timeout;
    check(transport || closed.error == ws::condition::protocol_violation ||
          closed.error == ws::condition::limit_exceeded || (script_.timed && timer));
    // The close timeout runs only after the application's close; the idle
    // timeout only while open, so never after it.
    if (closed.error == ws::errc::close_timeout) check(app_closed_);
    if (closed.error == ws::errc::idle_timeout) check(!app_closed_);
    if (app_closed_) {
      check(closed.sent_code == ws::CloseCode::normal);
    } else if (transport) {
      check(closed.sent_code == ws::CloseCode::abnormal);
    } else {
      check(static_cast<std::uint16_t>(closed.sent_code) == expected_close_code(closed.error));
    }
  }

  // FUZZ_TRACE=1 in the environment prints the events, to triage a finding.
  static bool trace() {
    static const bool on = std::getenv("FUZZ_TRACE") != nullptr;
    return on;
  }

  // Every pong written answers the oldest unanswered ping, byte for byte.
  void match_pongs() {
    auto& sent = wire_.pongs();
    while (!sent.empty()) {
      check(!expected_pongs_.empty());
      check(sent.front() == expected_pongs_.front());
      sent.pop_front();
      expected_pongs_.pop_front();
    }
  }

  void finish() {
    match_pongs();
    check(expected_pongs_.empty());  // every ping answered while open got its pong
    const ws::Closed& closed = *closed_event_;
    if (!opened_) {
      check(wire_.frames() == 0);
      return;
    }
    if (app_closed_) {
      check(wire_.close_seen() && wire_.close_code() == 1000);
    } else if (!closed.error) {
      // RFC 6455 5.5.1: the close is answered, echoing the code.
      check(wire_.close_seen());
      if (closed.code == ws::CloseCode::no_status) {
        check(!wire_.close_code().has_value());
      } else {
        check(wire_.close_code() == static_cast<std::uint16_t>(closed.code));
      }
    } else if (closed.error == ws::errc::unexpected_eof) {
      check(!wire_.close_seen());
    } else {
      // (The idle timeout sends 1001, going away.)
      // RFC 6455 7.1.7: failing the connection sends a close with the reason.
      check(wire_.close_seen() && wire_.close_code() == expected_close_code(closed.error));
    }
  }

  ws::Connection& c_;
  Script script_;
  ws::Limits limits_;
  WireReader wire_;
  ws::ByteView prefix_;
  bool opened_;
  bool rejected_ = false;
  bool upgrade_requested_ = false;
  bool closed_ = false;
  bool app_closed_ = false;
  std::optional<ws::Closed> closed_event_;
  std::size_t taken_since_events_ = 0;
  // The clock of a timed script; an arbitrary start far from the epoch.
  ws::TimePoint now_ = ws::TimePoint{} + std::chrono::hours(1000);
  std::optional<ws::TimePoint> first_tick_;
  ws::TimePoint last_input_tick_{};
  bool input_since_tick_ = false;
  std::optional<ws::TimePoint> close_tick_;  // the first tick after the application's close
  std::deque<std::vector<std::uint8_t>> expected_pongs_;
  bool in_message_ = false;
  ws::MessageKind kind_ = ws::MessageKind::binary;
  std::vector<std::byte> message_;
  std::size_t checked_ = 0;  // message_ is valid UTF-8 up to here
};

}  // namespace fuzz
