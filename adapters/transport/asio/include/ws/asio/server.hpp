// ws::asio::Server: accepts TCP (or TLS) connections, completes their
// opening handshakes and runs a read loop per connection that hands each
// message to a handler (echo when there is none), with graceful shutdown.
//
// Threading: the acceptor runs on the executor given to the constructor;
// each connection gets its own strand of it, so an io_context may be run
// by several threads. Handlers run on the connection's strand: they must
// not block, and they reply through the Session (thread-safe). The
// Server's own members may be called from any thread.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "ws/asio/detail/completion.hpp"
#include "ws/asio/options.hpp"
#include "ws/asio/session.hpp"
#include "ws/driver/handler.hpp"

namespace asio::ssl {
class context;
}

namespace ws::asio {

struct ServerOptions {
  /// For every connection (limits, timeouts, backpressure, registry).
  /// With stream.socket_driver set (ws::http2::server_protocols()), each
  /// accepted socket is served by what it makes instead of a Stream:
  /// HTTP/2 (RFC 8441 WebSockets as streams) beside HTTP/1.1. Such sockets
  /// take TLS from stream.stream_layer (ws::tls, whose ALPN chooses the
  /// protocol), not from `tls`; handlers are called as for the others,
  /// with one Session per WebSocket.
  StreamOptions stream{};
  /// Decides each upgrade request; empty accepts every valid one.
  AcceptHandler accept{};
  /// Answers requests that are not upgrades (GET / for a page, say), so
  /// one port serves HTTP and WebSocket; empty answers them with 400. One
  /// answer per connection: it is closed after it.
  HttpHandler http{};
  /// When set, every connection speaks TLS (wss://) with this context,
  /// which must outlive the Server.
  ::asio::ssl::context* tls = nullptr;
  int backlog = 1024;
};

struct ServerHandlers {
  /// A connection completed its handshake (join it to channels here).
  std::function<void(const std::shared_ptr<Session>& session, const UpgradeRequest& request)>
      on_open;
  /// A message arrived. `payload` is the connection's read buffer: move
  /// from it to keep it. Empty handler: the message is echoed.
  std::function<void(const std::shared_ptr<Session>& session, MessageKind kind,
                     std::string& payload)>
      on_message;
  /// An opened connection ended (before its socket is fully closed).
  std::function<void(const std::shared_ptr<Session>& session, const CloseInfo& info)> on_close;
};

class Server {
 public:
  Server(::asio::any_io_executor executor, ServerOptions options, ServerHandlers handlers = {});
  /// The same with the one Handler shape of every transport
  /// (ws/driver/handler.hpp): its on_upgrade and on_http, when set, take the
  /// place of options.accept and options.http; on_open, on_message and
  /// on_close are called as on the other transports (a Message whose payload
  /// is valid during the call; an empty on_message echoes); on_ping,
  /// on_pong, on_rejected and on_backpressure are not called by this
  /// Server.
  Server(::asio::any_io_executor executor, ServerOptions options, Handler handler);
  /// Drops every connection at once (use async_shutdown first to close
  /// them gracefully).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds, listens and starts accepting. Errors: the socket calls'.
  std::error_code listen(const ::asio::ip::tcp::endpoint& endpoint);
  ::asio::ip::tcp::endpoint local_endpoint() const;
  /// Connections accepted and not yet closed.
  std::size_t connection_count() const;

  /// Stops accepting, closes every connection with 1001 (going away) and
  /// waits for their close handshakes and sockets to end. Connections still
  /// there after `timeout` are dropped. Completes with void(std::error_code):
  /// empty when all closed in time, std::errc::timed_out when some had to
  /// be dropped.
  template <class Token>
  auto async_shutdown(Duration timeout, Token&& token) {
    return ::asio::async_initiate<Token, void(std::error_code)>(
        [state = state_, timeout](auto handler) {
          start_shutdown(state, timeout,
                         detail::make_completion<false>(std::move(handler), executor_of(*state)));
        },
        token);
  }

 private:
  struct State;
  static void start_shutdown(const std::shared_ptr<State>& state, Duration timeout,
                             detail::CompletionPtr done);
  static const ::asio::any_io_executor& executor_of(const State& state);

  std::shared_ptr<State> state_;
};

}  // namespace ws::asio
