// The blocking, thread-per-connection POSIX adapter.
//
// Each call below runs one WebSocket connection on the calling thread until
// it ends: it polls the socket and the session's eventfd, feeds the
// ws::Connection, calls the handler, and writes with non-blocking sends. It
// suits servers that already give each request a thread (the HTTP server
// reads the head, sees ws::is_upgrade(head) and calls serve_upgraded), and
// simple clients. docs/adapters.md ("POSIX, blocking") has an example.
//
// Threading contract:
//   - the handler is called only on the thread that runs the connection;
//   - any thread may use the BlockingSession (send, close, channels) at any
//     time; sends never block on the socket;
//   - a peer that does not read for write_stall_timeout while output waits
//     is dropped (Closed with std::errc::timed_out).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/config.hpp"
#include "ws/driver/driver.hpp"
#include "ws/driver/handler.hpp"
#include "ws/event.hpp"
#include "ws/handshake/client_handshake.hpp"
#include "ws/handshake/server_handshake.hpp"
#include "ws/posix/blocking_connection_set.hpp"
#include "ws/posix/blocking_session.hpp"
#include "ws/posix/upgrade_decision.hpp"

namespace ws::posix {

using BlockingSessionPtr = std::shared_ptr<BlockingSession>;

/// What the application does with a connection. Every member is called on
/// the thread that runs the connection, never two at once. Views inside the
/// events are valid only during the call; copy what you keep. The session
/// may be kept and used from other threads.
///
/// on_open is called once when the handshake completes; on_close exactly
/// once after it (a clean close, a protocol error, the end of the stream, a
/// write timeout or an abort), and nothing after on_close. An exception
/// thrown by a member ends the connection without on_close (the socket is
/// shut down, the session ends and leaves its channels) and propagates out
/// of the serve or connect call.
class BlockingHandler {
 public:
  virtual ~BlockingHandler() = default;

  /// Server: decides on a valid upgrade request. The default accepts with
  /// the options given to the serve call.
  virtual UpgradeDecision on_upgrade(const UpgradeRequest& request, const AcceptOptions& defaults);
  virtual void on_open(const BlockingSessionPtr& session) = 0;
  virtual void on_message(const BlockingSessionPtr& session, const Message& message) = 0;
  virtual void on_close(const BlockingSessionPtr& session, const Closed& closed) = 0;
  /// The pong is already queued when Config::auto_pong is on.
  virtual void on_ping(const BlockingSessionPtr& session, const Ping& ping);
  virtual void on_pong(const BlockingSessionPtr& session, const Pong& pong);
  /// Client: the server answered the upgrade with another status (a 401, a
  /// 302 with Location ...); on_close follows with errc::unexpected_status.
  /// The views in `rejected` live until the callback returns.
  virtual void on_rejected(const BlockingSessionPtr& session, const Rejected& rejected);
  /// Server, with Config::serve_plain_http: answers a request that is not
  /// an upgrade (a page on the same port). The default answers 404.
  virtual HttpAnswer on_http(const HttpHead& head);
};

/// A BlockingHandler made of std::functions; empty ones do nothing (an
/// empty on_upgrade accepts).
struct BlockingCallbacks final : BlockingHandler {
  std::function<UpgradeDecision(const UpgradeRequest&, const AcceptOptions&)> upgrade;
  std::function<void(const BlockingSessionPtr&)> open;
  std::function<void(const BlockingSessionPtr&, const Message&)> message;
  std::function<void(const BlockingSessionPtr&, const Closed&)> close;
  std::function<void(const BlockingSessionPtr&, const Ping&)> ping;
  std::function<void(const BlockingSessionPtr&, const Pong&)> pong;
  std::function<void(const BlockingSessionPtr&, const Rejected&)> rejected;

  UpgradeDecision on_upgrade(const UpgradeRequest& request, const AcceptOptions& defaults) override;
  void on_open(const BlockingSessionPtr& session) override;
  void on_message(const BlockingSessionPtr& session, const Message& message) override;
  void on_close(const BlockingSessionPtr& session, const Closed& closed) override;
  void on_ping(const BlockingSessionPtr& session, const Ping& ping) override;
  void on_pong(const BlockingSessionPtr& session, const Pong& pong) override;
  void on_rejected(const BlockingSessionPtr& session, const Rejected& rejected) override;
};

/// ServerOptions (ws/driver/driver.hpp: config with the server defaults,
/// backpressure, write-stall timeout, idle release, registry, and the
/// AcceptOptions passed to BlockingHandler::on_upgrade) plus the set of
/// live connections for a graceful shutdown.
struct BlockingOptions : ServerOptions {
  /// When set, the connection is tracked there from on_open until it ends,
  /// so that BlockingConnectionSet::close_all can shut it down; upgrades
  /// are refused with 503 once it is shutting down. Must outlive the call.
  BlockingConnectionSet* connections = nullptr;
};

/// ClientOptions (handshake options, config, backpressure, write-stall
/// timeout, registry, stream layer, route) plus the set of live connections.
struct BlockingClientOptions : ClientOptions {
  BlockingConnectionSet* connections = nullptr;
  /// Called on the connecting thread, at most once, when the connection
  /// ends before on_open: on_close is not called then (connect() returns
  /// the error), but this sees the whole Closed event, whose reason holds
  /// what a proxy said when it refused the tunnel (StreamLayer::
  /// error_detail). Not called when the TCP connect itself failed. Optional.
  std::function<void(const Closed&)> on_failed{};
};

/// The one Handler shape of every transport (ws/driver/handler.hpp) as a
/// BlockingHandler: serve(), serve_upgraded(), connect() and ThreadServer
/// take either. Its on_upgrade, when empty, accepts with the options given
/// to the serve call; on_http, when empty, answers 404.
class HandlerAdapter final : public BlockingHandler {
 public:
  explicit HandlerAdapter(Handler handler) : handler_(std::move(handler)) {}
  UpgradeDecision on_upgrade(const UpgradeRequest& request, const AcceptOptions& defaults) override;
  void on_open(const BlockingSessionPtr& session) override;
  void on_message(const BlockingSessionPtr& session, const Message& message) override;
  void on_close(const BlockingSessionPtr& session, const Closed& closed) override;
  void on_ping(const BlockingSessionPtr& session, const Ping& ping) override;
  void on_pong(const BlockingSessionPtr& session, const Pong& pong) override;
  void on_rejected(const BlockingSessionPtr& session, const Rejected& rejected) override;
  HttpAnswer on_http(const HttpHead& head) override;

 private:
  Handler handler_;
};

/// Serves a connection whose HTTP request head the caller already read:
/// `request_head` up to and including the empty line, `bytes_after_head`
/// whatever was read past it (the first frame bytes). Validates the head,
/// asks handler.on_upgrade, writes the 101 (or the rejection, or
/// build_error_response(error) for an invalid head) and runs the
/// connection on this thread until it ends.
///
/// `fd` is a connected stream socket, blocking or not; it is borrowed: its
/// file status flags are left alone (TCP_NODELAY is set) and the caller closes it after the call
/// returns (the adapter only shuts it down). Returns why the connection ended: empty after a clean
/// close handshake, else the Closed event's error, the handshake error (for example
/// errc::method_not_get or errc::rejected_by_application), or a socket error.
std::error_code serve_upgraded(int fd, std::string_view request_head, ByteView bytes_after_head,
                               BlockingHandler& handler, const BlockingOptions& options = {});

/// The same for a socket from which nothing was read: the Connection reads
/// the upgrade request itself (answering invalid ones with 400/426/431), and
/// handler.on_upgrade decides. Bounded by Timeouts::handshake_timeout.
std::error_code serve(int fd, BlockingHandler& handler, const BlockingOptions& options = {});

/// A client: connects to a ws:// URL (wss:// only with
/// options.stream_layer, else errc::invalid_url), through options.route
/// when set (a proxy: the socket connects to it, and its refusal is the
/// returned error and on_close's), performs the handshake and runs the
/// connection on this thread until it ends. Returns as serve does;
/// errc::unexpected_status when the server refused the upgrade, or the
/// connect error.
std::error_code connect(std::string_view url, BlockingHandler& handler,
                        const BlockingClientOptions& options = {});

/// The same three calls with the one Handler shape.
std::error_code serve_upgraded(int fd, std::string_view request_head, ByteView bytes_after_head,
                               const Handler& handler, const BlockingOptions& options = {});
std::error_code serve(int fd, const Handler& handler, const BlockingOptions& options = {});
std::error_code connect(std::string_view url, const Handler& handler,
                        const BlockingClientOptions& options = {});

}  // namespace ws::posix
