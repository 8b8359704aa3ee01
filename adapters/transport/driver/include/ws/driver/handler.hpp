// The application's side of a connection, the same on every transport
// (blocking threads, epoll, Asio, memory): one Handler of callbacks, one
// UpgradeDecision, one HttpAnswer.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ws/driver/session.hpp"
#include "ws/event.hpp"
#include "ws/handshake/http_head.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws {

/// A server's answer to a valid upgrade request.
struct UpgradeDecision {
  bool accept = true;
  /// When accepting: subprotocol, extra headers ...
  AcceptOptions options{};
  /// When rejecting: the HTTP status (4xx/5xx), body and extra headers.
  int status = 403;
  std::string body{};
  std::vector<HeaderField> headers{};

  static UpgradeDecision accept_with(AcceptOptions options = {});
  static UpgradeDecision reject(int status, std::string body = {},
                                std::vector<HeaderField> headers = {});
};

/// The answer to a plain HTTP request on a port that also serves WebSocket.
struct HttpAnswer {
  int status = 404;
  std::string body{};
  std::vector<HeaderField> headers{};  // Content-Type, say; not Content-Length
};

/// What the application does with connections. Every callback runs on the
/// thread that owns the connection (the loop thread, or the connection's
/// own thread), one at a time; an empty std::function does nothing. Views
/// inside the events are valid only during the call; copy what you keep.
/// Callbacks may use any session (send, close), publish to channels, and
/// must not block.
///
/// on_open is called once when the handshake completes; on_close exactly
/// once for every session whose on_open was called and for every client
/// session (a refused connect too), and nothing follows on_close. An
/// exception thrown by a callback propagates to the transport's caller
/// (serve(), EpollLoop::run(), io_context::run()); the connection is then
/// dropped without on_close.
struct Handler {
  /// Server: decides a valid upgrade request. Empty: accept with
  /// DriverOptions::accept.
  std::function<UpgradeDecision(const UpgradeRequest&)> on_upgrade;
  /// Server, with Config::serve_plain_http: answers a request that is not
  /// an upgrade (a page, say). Empty: 404.
  std::function<HttpAnswer(const HttpHead&)> on_http;
  std::function<void(const SessionPtr&)> on_open;
  std::function<void(const SessionPtr&, const Message&)> on_message;
  std::function<void(const SessionPtr&, const Closed&)> on_close;
  /// true: the unwritten output passed the midpoint of low_water and
  /// high_water and reading from the peer stopped; false: it fell to
  /// low_water and reading resumed.
  std::function<void(const SessionPtr&, bool high)> on_backpressure;
  /// The pong is already queued when Config::auto_pong is on.
  std::function<void(const SessionPtr&, const Ping&)> on_ping;
  std::function<void(const SessionPtr&, const Pong&)> on_pong;
  /// Client: the server answered the upgrade with another status; on_close
  /// follows with errc::unexpected_status.
  std::function<void(const SessionPtr&, const Rejected&)> on_rejected;
};

}  // namespace ws
