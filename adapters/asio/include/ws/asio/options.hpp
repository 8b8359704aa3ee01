// Plain types the Asio adapter is configured with and reports through. No
// Asio here: this header is cheap to include.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/channels/subscriber_queue.hpp"
#include "ws/config.hpp"
#include "ws/driver/driver.hpp"
#include "ws/frame/close_code.hpp"
#include "ws/handshake/http_head.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws::channels {
class Registry;
}

namespace ws::asio {

/// How one Stream behaves. The protocol settings are ws::Config's; the rest
/// bounds what the adapter itself holds.
struct StreamOptions {
  /// Limits and timers of the Connection. The Stream always delivers whole
  /// messages (Config::delivery is ignored).
  Config config{};
  /// async_write and async_ping calls that may wait for their bytes at once.
  /// One more fails with errc::output_queue_full (so does a message that
  /// would take the queued output past Limits::max_queued_output).
  std::size_t max_queued_writes = 64;
  /// The transport is closed (operations fail with std::errc::timed_out)
  /// when output is pending and none of it could be written for this long:
  /// a peer that stops reading cannot hold a connection forever. Zero turns
  /// it off.
  Duration write_timeout{std::chrono::seconds(30)};
  /// Once no byte was read or written for this long and all output is
  /// out, the Connection frees its empty buffers
  /// (Connection::release_idle_buffers): what its largest message grew is
  /// given back and allocated again with the next bytes (the TLS transport
  /// keeps its own buffers). Not sooner, since steady traffic would then
  /// allocate them for every message. Zero keeps them. A keepalive interval
  /// shorter than this counts as traffic and so keeps them too.
  Duration release_idle_buffers_after{std::chrono::seconds(1)};
  /// Bounds the Session's queue (messages from other threads and channels)
  /// and pauses reading from the peer while the unwritten output is above
  /// high_water, until it drops below low_water. Past high_water (or past
  /// Limits::max_queued_output for a send from the stream's own handlers)
  /// the policy applies: the send fails and the connection is closed with
  /// 1013 or 1008, or (drop_messages) the send fails and is counted. A
  /// message handed over is never dropped without the sender being told.
  channels::BackpressureLimits backpressure{};
  /// How much of the peer's input one turn on the executor may take before
  /// the stream lets other work run (ws::FairnessBudget::bytes_per_turn;
  /// the Stream hands one message per async_read, so events_per_turn is
  /// not used). A peer flooding frames that complete no message then
  /// delays the other connections of the io_context by one turn at most.
  FairnessBudget fairness{};
  /// When set, the connection leaves every channel of this registry when it
  /// ends. The registry must outlive the Stream.
  channels::Registry* registry = nullptr;
};

/// A server's answer to an upgrade request: accept with options, or reject
/// with an HTTP status (a 4xx or 5xx), a body and extra headers.
struct AcceptDecision {
  bool accept = true;
  AcceptOptions options{};
  int status = 403;
  std::string body{};
  std::vector<HeaderField> headers{};

  static AcceptDecision accept_with(AcceptOptions options = {}) {
    AcceptDecision decision;
    decision.options = std::move(options);
    return decision;
  }
  static AcceptDecision reject(int status, std::string body = {}) {
    AcceptDecision decision;
    decision.accept = false;
    decision.status = status;
    decision.body = std::move(body);
    return decision;
  }
};

/// Called on the stream's executor with the validated request; routes by
/// path, checks Origin (ws::origin_allowed), chooses subprotocols.
using AcceptHandler = std::function<AcceptDecision(const UpgradeRequest& request)>;

/// The answer to a plain HTTP request (one that is not a WebSocket upgrade)
/// on a port that also serves WebSocket: any status from 200 on, a body and
/// extra headers (Content-Type, say; Content-Length is added).
struct HttpAnswer {
  int status = 404;
  std::string body{};
  std::vector<HeaderField> headers{};
};

/// Server: answers a plain HTTP request (GET / for a page, say). Called on
/// the stream's executor; `head` is valid during the call only. When one is
/// given, such requests are answered with what it returns instead of a
/// 400, and the connection then ends (Config::serve_plain_http).
using HttpHandler = std::function<HttpAnswer(const HttpHead& head)>;

/// How a connection ended, copied from the Connection's Closed event.
/// `error` is empty after a clean close handshake; otherwise it says what
/// went wrong (a protocol error, ws::errc::unexpected_eof, a timeout...).
struct CloseInfo {
  CloseCode code = CloseCode::abnormal;
  std::string reason{};
  std::error_code error{};
  CloseCode sent_code = CloseCode::abnormal;
};

enum class ControlKind : std::uint8_t { ping, pong };

/// Sees pings and pongs from the peer (pings are already answered). Called
/// on the stream's executor while a read is pending; `payload` is valid
/// during the call only.
using ControlCallback = std::function<void(ControlKind kind, ByteView payload)>;

}  // namespace ws::asio
