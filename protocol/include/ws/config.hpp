// Everything a Connection can be configured with: limits, timeouts and
// behaviour switches. Defaults are safe for a server facing the internet.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "ws/base/random_source.hpp"
#include "ws/handshake/http_head_parser.hpp"

namespace ws {

class Extension;  // ws/extension/extension.hpp

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

/// Memory bounds. Whatever the peer sends, a Connection never holds more
/// than max_buffered_input + max_message_size + max_queued_output bytes of
/// payload (plus fixed overhead, and buffer capacity grown ahead of need:
/// at most half again, and one spare buffer of up to twice
/// max_buffered_input).
struct Limits {
  /// Largest frame payload accepted; a larger one fails the connection with 1009.
  std::uint64_t max_frame_size = 16 * 1024 * 1024;
  /// Largest message (all fragments together); a larger one fails with 1009.
  std::uint64_t max_message_size = 16 * 1024 * 1024;
  /// Bytes receive() accepts before next_event() has parsed them. Values
  /// below 256 are raised to 256 (a header and a whole control frame fit).
  std::size_t max_buffered_input = 64 * 1024;
  /// Bytes of output queued and not yet consumed. A send that would go past
  /// it fails with errc::output_queue_full and queues nothing. Close frames
  /// are always queued.
  std::size_t max_queued_output = 32 * 1024 * 1024;
};

/// All timeouts are driven by the time the caller passes to advance_time().
/// A zero duration turns the timer off.
struct Timeouts {
  /// Send a ping after this long without input, to keep the path alive.
  Duration keepalive_interval{0};
  /// Fail the connection (close 1001) after this long without input.
  Duration idle_timeout{0};
  /// How long to wait for the peer's close frame (or, as a client, for the
  /// server to end the stream) once a close was sent.
  Duration close_timeout{std::chrono::seconds(5)};
  /// How long the opening handshake may take.
  Duration handshake_timeout{std::chrono::seconds(10)};
};

/// How received data messages reach the application.
enum class Delivery : std::uint8_t {
  whole_messages,  // one Message event per message, fragments joined
  streamed,        // Message events per piece as bytes arrive (is_first/is_last)
};

struct Config {
  Limits limits{};
  Timeouts timeouts{};
  Delivery delivery = Delivery::whole_messages;
  /// Answer every ping with a pong carrying the same payload (RFC 6455 5.5.2).
  bool auto_pong = true;
  /// When non-zero, send_text/send_binary split messages into frames of at
  /// most this many payload bytes, so that pings and pongs can go out
  /// between them.
  std::size_t auto_fragment_size = 0;
  /// Source of client masking keys and handshake keys. Empty means
  /// system_random_source().
  RandomSource random{};
  /// Server: a complete request that is not a WebSocket upgrade produces an
  /// HttpRequested event, answered with Connection::reject(status, body,
  /// headers) (any status, 200 included), instead of a 400. One port then
  /// serves HTTP and WebSocket from one routine.
  bool serve_plain_http = false;
  /// Bounds on the HTTP head of the opening handshake (431 past them).
  HttpLimits http_limits{};
  /// An extension to negotiate in the opening handshake, such as
  /// permessage-deflate (ws::deflate::make_extension in the ws::deflate
  /// target). A client offers it, a server accepts a client's offer of it.
  /// Null (the default): none is offered or accepted, and a frame with an
  /// RSV bit fails the connection (1002). When the server side agrees, its
  /// answer replaces AcceptOptions::negotiate_extensions. Shared, never
  /// changed by the Connection.
  std::shared_ptr<const Extension> extension{};
};

}  // namespace ws
