// ThreadServer: a thread-per-connection WebSocket server over the blocking
// adapter. One accept thread takes connections and gives each its own
// thread, which runs ws::posix::serve() (the Connection reads the request
// head itself, under Timeouts::handshake_timeout counted from the accept,
// so a peer that sends nothing is dropped too).
//
// Bounded under load a hostile peer can cause:
//   - at most ThreadServerOptions::max_threads connection threads; past it,
//     or when the system refuses a thread (a process or container task
//     limit), the connection gets a short "503 Service Unavailable" with
//     Connection: close, written without blocking, and is closed; the server
//     counts it (stats().refused_threads) and goes on. Over TLS
//     (stream_layer) no 503 can be read before a TLS handshake, which would
//     need the thread: the connection is closed at once and the client's
//     TLS handshake fails with an end of stream;
//   - accept() failing for want of descriptors or memory (EMFILE, ENFILE,
//     ENOBUFS, ENOMEM) waits accept_backoff before trying again instead of
//     spinning (stats().accept_backoffs).
//
// Threading contract: listen(), port(), stats(), shutdown() and the
// destructor may be called from any thread except a connection thread (a
// handler must not shut its own server down). The handler is called on
// each connection's thread (ws/posix/blocking.hpp), so for several
// connections at once: it must be safe to call from several threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ws/base/result.hpp"
#include "ws/config.hpp"
#include "ws/handshake/http_head.hpp"
#include "ws/posix/blocking.hpp"
#include "ws/posix/upgrade_decision.hpp"

namespace ws::posix {

namespace detail {
class ThreadServerCore;
}

/// BlockingOptions (config with the server defaults, backpressure,
/// write-stall timeout, registry, connections) plus where to listen and the
/// bounds of the accept loop. When `connections` is null the server uses a
/// set of its own (shutdown() closes its connections through it).
struct ThreadServerOptions : BlockingOptions {
  /// Numeric address or "localhost"; port 0 picks a free port (see port()).
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  /// The kernel caps it (net.core.somaxconn).
  int backlog = 4096;
  /// Connection threads alive at once; past it, new connections get a 503.
  /// Zero: no bound of the server's own (the system's task limit still
  /// applies, and is answered with a 503 as well).
  std::size_t max_threads = 1024;
  /// How long the accept loop waits after accept() failed for want of
  /// descriptors or memory before it tries again.
  Duration accept_backoff{std::chrono::milliseconds(100)};
  /// How long the destructor lets shutdown() take (see shutdown()).
  Duration shutdown_timeout{std::chrono::seconds(5)};
  /// Requests that are not WebSocket upgrades (GET / for a page, say): when
  /// set, such a request is answered with what this returns (on the
  /// connection's thread, through the driver: Config::serve_plain_http,
  /// bounded by the handshake timeout from the accept and by
  /// config.http_limits), then the connection closes. Empty: a plain
  /// request gets a 400. (BlockingHandler::on_http does the same for
  /// serve() callers.)
  std::function<HttpAnswer(const HttpHead&)> on_http;
};

/// Counters since listen().
struct ThreadServerStats {
  /// Sockets accepted.
  std::uint64_t accepted = 0;
  /// Connection threads running now.
  std::size_t live_threads = 0;
  /// Connections answered with 503 and closed because no thread could run
  /// them: at max_threads, or the thread could not be created.
  std::uint64_t refused_threads = 0;
  /// Of those, the ones whose thread the system refused (std::system_error).
  std::uint64_t thread_failures = 0;
  /// Times accept() failed with EMFILE, ENFILE, ENOBUFS or ENOMEM and the
  /// accept loop waited accept_backoff.
  std::uint64_t accept_backoffs = 0;
  /// Connection threads that ended with an exception from the handler (the
  /// connection was dropped; the server goes on).
  std::uint64_t handler_exceptions = 0;
};

class ThreadServer {
 public:
  /// Binds and listens, and starts the accept thread. The handler is
  /// borrowed: it must outlive every connection thread, which the
  /// destructor waits for (up to shutdown_timeout; a handler that blocks
  /// longer than that keeps running on a detached thread, so pass a
  /// shared_ptr then). Errors: the system error of socket/bind/listen, of
  /// the eventfd, or of creating the accept thread.
  static Result<ThreadServer> listen(ThreadServerOptions options, BlockingHandler& handler);
  /// The same with a handler the connection threads share ownership of.
  static Result<ThreadServer> listen(ThreadServerOptions options,
                                     std::shared_ptr<BlockingHandler> handler);
  /// The same with the one Handler shape of every transport.
  static Result<ThreadServer> listen(ThreadServerOptions options, Handler handler);

  ThreadServer(ThreadServer&& other) noexcept;
  ThreadServer& operator=(ThreadServer&& other) noexcept;
  ThreadServer(const ThreadServer&) = delete;
  ThreadServer& operator=(const ThreadServer&) = delete;
  /// shutdown(shutdown_timeout) unless it was called.
  ~ThreadServer();

  /// The port the server listens on.
  std::uint16_t port() const noexcept;
  ThreadServerStats stats() const noexcept;

  /// Graceful shutdown: stops accepting (joins the accept thread), closes
  /// every open connection with 1001 through the connection set and waits
  /// for the close handshakes (BlockingConnectionSet::close_all: up to
  /// `timeout`, then aborts the rest and waits up to `timeout` again), then
  /// shuts down the sockets of connections still in their opening
  /// handshake and waits up to `timeout` for every connection thread to
  /// end. Returns how many connections did not end cleanly: those aborted
  /// plus threads still running at the end. Calling it again returns 0.
  std::size_t shutdown(Duration timeout);

 private:
  explicit ThreadServer(std::shared_ptr<detail::ThreadServerCore> core) noexcept;
  std::shared_ptr<detail::ThreadServerCore> core_;
};

}  // namespace ws::posix
