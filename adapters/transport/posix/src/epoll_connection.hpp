// One WebSocket connection on an EpollLoop: moves bytes and time between a
// non-blocking socket and its ws::Driver, which does everything else
// (events, handler calls, the session's outbox, backpressure, timers).
//
// Level-triggered epoll, chosen over edge-triggered because:
//   - each wake-up reads at most the driver's fairness budget and the
//     kernel reports the socket again if more is waiting, so thousands of
//     connections share the thread fairly with no "ready but not drained"
//     list to keep;
//   - pausing a peer under backpressure is just removing EPOLLIN from the
//     interest set, with no readiness state to remember;
//   - output is written eagerly right after it is produced, so EPOLLOUT is
//     asked for only after a write came up short (EAGAIN), and dropped again
//     once the output is gone: the extra epoll_ctl happens only on
//     connections that are actually backed up.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>

#include "epoll_loop_core.hpp"
#include "ws/config.hpp"
#include "ws/connection.hpp"
#include "ws/driver/driver.hpp"
#include "ws/driver/socket_driver.hpp"
#include "ws/posix/epoll_server.hpp"
#include "ws/posix/epoll_session.hpp"
#include "ws/posix/socket.hpp"

namespace ws::posix::detail {

/// What the connections of one server (or of one client connect) share.
struct EpollEndpoint {
  std::shared_ptr<const Handler> handler;
  DriverOptions driver;
};

class EpollConnection;

/// Told when a connection ends (the server counts and closes its connections).
class EpollConnectionTracker {
 public:
  virtual ~EpollConnectionTracker() = default;
  virtual void connection_ended(EpollConnection& connection) = 0;
};

class EpollConnection final : public EpollWatcher {
 public:
  /// `connecting`: a client whose non-blocking TCP connect is in progress.
  static std::shared_ptr<EpollConnection> create(std::shared_ptr<EpollLoopCore> loop,
                                                 FileDescriptor socket, Connection connection,
                                                 std::shared_ptr<const EpollEndpoint> endpoint,
                                                 std::shared_ptr<EpollConnectionTracker> tracker,
                                                 bool connecting,
                                                 std::unique_ptr<StreamLayer> layer = {});
  /// A server's accepted socket served by what the endpoint's
  /// DriverOptions::socket_driver makes (HTTP/2 with HTTP/1.1). Errors: the
  /// factory's.
  static Result<std::shared_ptr<EpollConnection>> create_served(
      std::shared_ptr<EpollLoopCore> loop, FileDescriptor socket,
      std::shared_ptr<const Config> config, std::shared_ptr<const EpollEndpoint> endpoint,
      std::shared_ptr<EpollConnectionTracker> tracker, std::unique_ptr<StreamLayer> layer);

  /// A socket served by the SocketDriver `make` returns, given the socket's
  /// waker. Errors: make's.
  using SocketDriverMaker =
      std::function<Result<std::unique_ptr<SocketDriver>>(std::shared_ptr<ws::Waker> waker)>;
  static Result<std::shared_ptr<EpollConnection>> create_from(
      std::shared_ptr<EpollLoopCore> loop, FileDescriptor socket,
      std::shared_ptr<EpollConnectionTracker> tracker, bool connecting,
      const SocketDriverMaker& make);

  class Waker;
  EpollConnection(std::shared_ptr<EpollLoopCore> loop, FileDescriptor socket,
                  std::shared_ptr<Waker> waker, std::unique_ptr<SocketDriver> driver,
                  std::shared_ptr<EpollConnectionTracker> tracker, bool connecting);
  ~EpollConnection() override;

  /// The session of a connection that is one WebSocket; null for one that
  /// carries many (HTTP/2).
  const SessionPtr& session() const noexcept { return session_; }

  // Loop thread.
  /// Adds the socket to the loop and starts the exchange.
  void start();
  /// Starts the close handshake with 1001 (graceful shutdown); a connection
  /// still in its opening handshake is dropped.
  void close_going_away();
  /// Drops the connection now; on_close (if due) reports `why`.
  void abort(std::error_code why);

  void on_events(std::uint32_t events) override;
  void on_timer() override;
  void on_wake() override;
  void on_loop_destroyed() override;

 private:
  void finish_connect(std::uint32_t events);
  void read_some();
  void turn();
  void write_out();
  void update_interest();
  void finish();

  std::shared_ptr<EpollLoopCore> loop_;
  FileDescriptor socket_;
  std::shared_ptr<Waker> waker_;
  std::unique_ptr<SocketDriver> driver_;
  SessionPtr session_;
  std::shared_ptr<EpollConnectionTracker> tracker_;

  std::uint32_t interest_ = 0;
  bool connecting_ = false;
  bool want_write_ = false;  // a write came up short: wait for EPOLLOUT
  bool ended_ = false;       // socket closed, driver released
};

}  // namespace ws::posix::detail
