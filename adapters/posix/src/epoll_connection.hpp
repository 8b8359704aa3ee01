// One WebSocket connection on an EpollLoop: moves bytes between a
// non-blocking socket and a ws::Connection, runs the application's
// callbacks, and turns the session's cross-thread requests into sends.
//
// Level-triggered epoll, chosen over edge-triggered because:
//   - each wake-up reads at most one buffer (the Connection's free input
//     space, up to Limits::max_buffered_input) and the kernel reports the
//     socket again if more is waiting, so thousands of connections share
//     the thread fairly with no "ready but not drained" list to keep;
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
#include "ws/channels/registry.hpp"
#include "ws/channels/subscriber_queue.hpp"
#include "ws/config.hpp"
#include "ws/connection.hpp"
#include "ws/posix/epoll_server.hpp"
#include "ws/posix/epoll_session.hpp"
#include "ws/posix/socket.hpp"

namespace ws::posix::detail {

/// What the connections of one server (or of one client connect) share.
struct EpollEndpoint {
  EpollHandler handler;
  channels::BackpressureLimits backpressure;
  channels::Registry* registry = nullptr;
  bool join_path_channel = false;
  std::function<EpollUpgradeDecision(const UpgradeRequest&)> on_upgrade;
  std::function<HttpAnswer(const HttpHead&)> on_http;
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
                                                 bool connecting);

  EpollConnection(std::shared_ptr<EpollLoopCore> loop, FileDescriptor socket, Connection connection,
                  std::shared_ptr<const EpollEndpoint> endpoint,
                  std::shared_ptr<EpollConnectionTracker> tracker, bool connecting);
  ~EpollConnection() override;

  const EpollSessionPtr& session() const noexcept { return session_; }
  /// Before start(): the upgrade request the session reports (adopted sockets).
  void set_request(std::unique_ptr<const UpgradeRequest> request) {
    session_->request_ = std::move(request);
  }

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
  bool reading() const noexcept { return !eof_ && !paused_; }
  void finish_connect(std::uint32_t events);
  void read_some();
  void step();
  void deliver_events();
  void handle(const Event& event);
  void report_closed(const Closed& closed);
  void take_requests();
  void send_queued();
  void write_out();
  void update_backpressure();
  void update_interest();
  void finish(std::error_code why);
  void release();

  std::shared_ptr<EpollLoopCore> loop_;
  FileDescriptor socket_;
  std::optional<Connection> connection_;
  std::shared_ptr<const EpollEndpoint> endpoint_;
  std::shared_ptr<EpollConnectionTracker> tracker_;
  EpollSessionPtr session_;

  std::uint32_t interest_ = 0;
  bool connecting_ = false;
  bool eof_ = false;             // read side ended (receive_eof given)
  bool read_drained_ = false;    // the last read took all the socket had
  TimePoint last_read_{};        // when bytes last arrived
  bool transport_dead_ = false;  // a read or write error: the socket is unusable
  bool want_write_ = false;      // a write came up short: wait for EPOLLOUT
  bool paused_ = false;          // output above high water: not reading
  bool opened_ = false;          // on_open was called
  bool report_close_ = false;    // on_close is due when the connection ends
  bool closed_seen_ = false;     // the Closed event (or its stand-in) was handled
  bool policy_close_sent_ = false;
  bool ended_ = false;  // socket closed, Connection released
};

}  // namespace ws::posix::detail
