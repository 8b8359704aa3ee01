// A ws::SocketDriver on an Asio TCP socket: what the Server runs for each
// accepted socket when ServerOptions::stream.socket_driver is set (HTTP/2
// beside HTTP/1.1, ws::http2). It moves wire bytes and time only, the way
// the epoll transport does: non-blocking reads and writes on the socket's
// strand, async_wait for readiness, one timer for next_deadline(), and a
// Waker that posts a turn to the strand from any thread.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "ws/driver/socket_driver.hpp"

namespace ws::asio::detail {

class SocketRunner : public std::enable_shared_from_this<SocketRunner> {
 public:
  /// Told once, on the strand, after the socket closed and every callback
  /// of its WebSockets ran.
  using Ended = std::function<void(SocketRunner*)>;

  /// Makes the socket's SocketDriver with `factory` (context without its
  /// waker: the runner adds its own). begin() then starts it on the
  /// socket's executor. Errors: the factory's; the socket is then closed.
  static Result<std::shared_ptr<SocketRunner>> start(::asio::ip::tcp::socket socket,
                                                     const SocketDriverFactory& factory,
                                                     SocketDriverContext context, Ended on_end);

  SocketRunner(::asio::ip::tcp::socket socket, Ended on_end);

  // Any thread: carried out on the strand.
  void begin();
  /// A client's runner, made with an unconnected socket: resolves
  /// host:port, connects the socket to the first address that takes it,
  /// then runs as begin() does. The driver's clock starts at once, so its
  /// handshake timeout counts the resolve and the connect too; until the
  /// socket is connected a turn only steps the driver (a timeout, a close
  /// or abort from the session end it). A failure to resolve or connect
  /// ends the driver with that error (on_close reports it).
  void connect_then_begin(std::string host, std::uint16_t port);
  void close_going_away();
  void abort(std::error_code why);

 private:
  class Waker;

  void turn();
  void read();
  void write();
  void wait_readable();
  void wait_writable();
  void schedule(std::optional<TimePoint> when);
  void finish();
  void connected(std::error_code error);

  ::asio::ip::tcp::socket socket_;
  ::asio::steady_timer timer_;
  std::unique_ptr<SocketDriver> driver_;
  Ended on_end_;
  std::vector<::asio::const_buffer> gather_;
  std::optional<TimePoint> armed_;
  std::uint64_t timer_generation_ = 0;
  bool readable_ = true;  // no would-block seen since the last readiness
  bool read_waiting_ = false;
  bool write_waiting_ = false;
  bool ended_ = false;
  // Client only, while resolving and connecting: no socket I/O yet.
  std::optional<::asio::ip::tcp::resolver> resolver_;
  bool connecting_ = false;
};

}  // namespace ws::asio::detail
