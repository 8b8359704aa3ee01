// UringServer: a WebSocket server on a UringLoop. It accepts TCP
// connections with one multishot accept, receives with one multishot
// receive per connection into the loop's provided buffers, and serves every
// accepted connection on the loop thread through the one ws::Driver, so the
// rules of docs/adapters.md (timeouts, backpressure, write stall, fairness,
// idle release, a TLS layer through DriverOptions::stream_layer) are those
// of every transport.
//
// Threading contract: listen(), shutdown(), port(), connection_count() and
// the destructor may be called from any thread; callbacks run on the loop
// thread (ws/uring/uring_loop.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ws/base/result.hpp"
#include "ws/config.hpp"
#include "ws/driver/driver.hpp"
#include "ws/driver/handler.hpp"
#include "ws/driver/session.hpp"
#include "ws/handshake/http_head.hpp"
#include "ws/handshake/server_handshake.hpp"
#include "ws/uring/uring_loop.hpp"

namespace ws::uring {

namespace detail {
class UringServerCore;
}

/// ServerOptions (ws/driver/driver.hpp: config with the server defaults,
/// backpressure, write-stall timeout, idle release, fairness, registry,
/// stream layer) plus where to listen; the same fields as
/// ws::posix::EpollServerOptions, and the io_uring ones.
struct UringServerOptions : ServerOptions {
  /// With a registry, each session joins the channel named by its request
  /// path ("/chat") before on_open; the application may join others.
  UringServerOptions() { join_path_channel = true; }

  /// Numeric address or "localhost"; port 0 picks a free port (see port()).
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  /// The kernel caps it (net.core.somaxconn).
  int backlog = 4096;
  /// At most this many connections at once (0: no limit). At the limit the
  /// server stops accepting (new peers wait in the listen backlog) until a
  /// connection ends.
  std::size_t max_connections = 0;
  /// Sends with IORING_OP_SENDMSG_ZC: the kernel sends from the
  /// connection's own buffers without copying them into the socket; the
  /// bytes are released only after its notification. Pays off for large
  /// messages on real NICs, rarely on loopback; off by default. Ignored
  /// where the kernel lacks it (Support::zero_copy_send).
  bool zero_copy_send = false;
  /// Called on the loop thread for each valid upgrade request when the
  /// handler's on_upgrade is empty; empty too: accept with
  /// ServerOptions::accept.
  std::function<UpgradeDecision(const UpgradeRequest&)> on_upgrade;
  /// Requests that are not WebSocket upgrades: when set (here or in the
  /// handler), answered with what it returns instead of a 400. Loop thread.
  std::function<HttpAnswer(const HttpHead&)> on_http;
};

class UringServer {
 public:
  /// Binds and listens now (so port() is known when this returns) and
  /// starts accepting once the loop runs. Errors: the loop's creation error
  /// (io_uring refused or missing), the system error of socket/bind/listen.
  static Result<UringServer> listen(UringLoop& loop, UringServerOptions options, Handler handler);

  UringServer(UringServer&&) noexcept;
  UringServer& operator=(UringServer&&) noexcept;
  /// Stops accepting and drops the remaining connections without a close
  /// handshake (on_close reports std::errc::operation_canceled). Call
  /// shutdown() first for a graceful end.
  ~UringServer();

  /// The port the server listens on.
  std::uint16_t port() const noexcept;

  /// Connections accepted and not yet ended (handshaking ones included).
  /// An ended connection whose cancelled operations the kernel has not
  /// yet returned is not counted (its memory goes with the last of them).
  std::size_t connection_count() const noexcept;

  /// Graceful shutdown: stops accepting, closes every connection with 1001
  /// (going away), waits for their close handshakes, and after `timeout`
  /// drops those still open. Then calls `on_done` on the loop thread (for
  /// example [&] { loop.stop(); }). Calling it again does nothing.
  void shutdown(Duration timeout, std::function<void()> on_done = {});

 private:
  explicit UringServer(std::shared_ptr<detail::UringServerCore> core) noexcept;
  std::shared_ptr<detail::UringServerCore> core_;
};

}  // namespace ws::uring
