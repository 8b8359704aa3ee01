// Plain types the Asio adapter is configured with and reports through. No
// Asio here: this header is cheap to include. The vocabulary is the one of
// every transport (ws/driver): a Stream runs on a ws::Driver, so its options
// are ws::DriverOptions, its decisions ws::UpgradeDecision and ws::HttpAnswer,
// and its thread-safe handle a ws::Session.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

#include "ws/base/bytes.hpp"
#include "ws/config.hpp"
#include "ws/driver/driver.hpp"
#include "ws/driver/handler.hpp"
#include "ws/frame/close_code.hpp"
#include "ws/handshake/http_head.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws::asio {

/// How one Stream behaves: the driver's options (inherited) plus the
/// Connection's config and the bound on waiting writes.
///
/// Inherited from ws::DriverOptions:
///   backpressure              marks and slow-subscriber policy of the
///                             Session (sends from other threads, channels;
///                             reading pauses halfway between the marks)
///   write_stall_timeout       output that makes no progress this long ends
///                             the connection (std::errc::timed_out); zero:
///                             no limit
///   release_idle_buffers_after  an idle connection frees its empty buffers
///   fairness                  bytes read per turn before other work runs
///   registry                  the session leaves its channels at the end
///                             (a ws::channels::Registry)
struct StreamOptions : DriverOptions {
  /// Limits and timers of the Connection. The Stream always delivers whole
  /// messages (Config::delivery is ignored).
  Config config{};
  /// async_write and async_ping calls that may wait for their bytes at once.
  /// One more fails with errc::output_queue_full (so does a message that
  /// would take the queued output past Limits::max_queued_output).
  std::size_t max_queued_writes = 64;
};

/// A server's answer to an upgrade request: accept with options, or reject
/// with an HTTP status (a 4xx or 5xx), a body and extra headers.
using AcceptDecision = ws::UpgradeDecision;

/// Called on the stream's executor with the validated request; routes by
/// path, checks Origin (ws::origin_allowed), chooses subprotocols.
using AcceptHandler = std::function<AcceptDecision(const UpgradeRequest& request)>;

/// The answer to a plain HTTP request (one that is not a WebSocket upgrade)
/// on a port that also serves WebSocket: any status from 200 on, a body and
/// extra headers (Content-Type, say; Content-Length is added).
using HttpAnswer = ws::HttpAnswer;

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
