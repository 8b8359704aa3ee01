// EpollServer: a WebSocket server on an EpollLoop. It accepts TCP
// connections (non-blocking accept4), reads each upgrade request itself, asks
// the application whether to accept it, and serves every accepted
// connection on the loop thread. An application with its own HTTP front end
// hands over sockets whose upgrade head it already read (adopt()).
//
// Threading contract: listen(), adopt(), shutdown(), port(),
// connection_count() and the destructor may be called from any thread;
// callbacks run on the loop thread (ws/posix/epoll_loop.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/base/result.hpp"
#include "ws/config.hpp"
#include "ws/driver/driver.hpp"
#include "ws/handshake/http_head.hpp"
#include "ws/handshake/server_handshake.hpp"
#include "ws/posix/epoll_loop.hpp"
#include "ws/posix/epoll_session.hpp"
#include "ws/posix/socket.hpp"
#include "ws/posix/upgrade_decision.hpp"

namespace ws::posix {

namespace detail {
class EpollServerCore;
}

/// The epoll server answers upgrades with the same decision as the blocking adapter.
using EpollUpgradeDecision = UpgradeDecision;

/// ServerOptions (ws/driver/driver.hpp: config with the server defaults,
/// backpressure, write-stall timeout, idle release, fairness, registry)
/// plus where to listen.
struct EpollServerOptions : ServerOptions {
  /// With a registry, each session joins the channel named by its request
  /// path ("/chat") before on_open; the application may join others.
  EpollServerOptions() { join_path_channel = true; }

  /// Numeric address or "localhost"; port 0 picks a free port (see port()).
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  /// The kernel caps it (net.core.somaxconn).
  int backlog = 4096;
  /// Called on the loop thread for each valid upgrade request when the
  /// handler's on_upgrade is empty; empty too: accept with
  /// ServerOptions::accept.
  std::function<EpollUpgradeDecision(const UpgradeRequest&)> on_upgrade;
  /// Requests that are not WebSocket upgrades (GET / for a page, say): when
  /// set (here or in the handler), they are answered with what it returns
  /// instead of a 400, so one port serves HTTP and WebSocket. Loop thread.
  std::function<HttpAnswer(const HttpHead&)> on_http;
};

class EpollServer {
 public:
  /// Binds and listens now (so port() is known when this returns) and
  /// starts accepting once the loop runs. Errors: the system error of
  /// socket/bind/listen, or the loop's creation error.
  static Result<EpollServer> listen(EpollLoop& loop, EpollServerOptions options,
                                    EpollHandler handler);

  EpollServer(EpollServer&&) noexcept;
  EpollServer& operator=(EpollServer&&) noexcept;
  /// Stops accepting and drops the remaining connections without a close
  /// handshake (on_close reports std::errc::operation_canceled). Call
  /// shutdown() first for a graceful end.
  ~EpollServer();

  /// The port the server listens on.
  std::uint16_t port() const noexcept;

  /// Connections accepted and not yet ended (handshaking ones included).
  std::size_t connection_count() const noexcept;

  /// Serves a connected socket whose upgrade request head the application
  /// already read (its HTTP server saw ws::is_upgrade(head)). `request_head`
  /// is the head up to and including the empty line; `bytes_after_head` are
  /// bytes read past it. The 101 response goes out from the loop, and
  /// on_open follows. On success the session is returned and `socket` is
  /// moved from; on error `socket` is left untouched, nothing is written,
  /// and the error is the head's parse or validation error (answer it with
  /// ws::build_error_response(error)) or one of build_accept_response.
  Result<EpollSessionPtr> adopt(FileDescriptor&& socket, std::string_view request_head,
                                ByteView bytes_after_head, const AcceptOptions& options = {});

  /// Graceful shutdown: stops accepting, closes every connection with 1001
  /// (going away), waits for their close handshakes, and after `timeout`
  /// drops those still open. Then calls `on_done` on the loop thread (for
  /// example [&] { loop.stop(); }). Calling it again does nothing.
  void shutdown(Duration timeout, std::function<void()> on_done = {});

 private:
  explicit EpollServer(std::shared_ptr<detail::EpollServerCore> core) noexcept;
  std::shared_ptr<detail::EpollServerCore> core_;
};

}  // namespace ws::posix
