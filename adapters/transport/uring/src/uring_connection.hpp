// One WebSocket connection on a UringLoop: moves bytes and time between a
// socket and its ws::Driver, which does everything else (events, handler
// calls, the session's outbox, backpressure, timers, a TLS layer).
//
// Input: one multishot receive into the loop's provided buffers while the
// driver wants to read. Each buffer's bytes go to the driver and the buffer
// straight back to the kernel; what the driver does not take (its turn's
// budget is spent, it paused, its input is full) is kept here, in order,
// and handed over first at the next turn. While the driver does not want to
// read, or the kept bytes reach the turn budget, the receive is cancelled,
// and started again only after its last completion came back: never two
// receives on one socket, so bytes are neither lost nor reordered.
//
// Output: one sendmsg in flight at a time over the driver's own pending
// output (Driver::mark_output_in_flight: no copy), consumed on its
// completion; a short write continues at the next turn. With zero copy,
// the bytes are consumed only after the kernel's notification that it no
// longer reads them.
//
// Closing: every operation still in the ring is cancelled; the socket is
// closed and the memory released when the last completion came back.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

#include "uring_loop_core.hpp"
#include "ws/config.hpp"
#include "ws/connection.hpp"
#include "ws/driver/driver.hpp"
#include "ws/driver/handler.hpp"
#include "ws/driver/session.hpp"
#include "ws/posix/socket.hpp"

namespace ws::uring::detail {

/// What the connections of one server (or of one client connect) share.
struct UringEndpoint {
  std::shared_ptr<const Handler> handler;
  DriverOptions driver;
  bool zero_copy_send = false;
};

class UringConnection;

/// Told when a connection ends (the server counts its connections).
class UringConnectionTracker {
 public:
  virtual ~UringConnectionTracker() = default;
  virtual void connection_ended(UringConnection& connection) = 0;
};

/// Where a client connects to.
using ConnectAddress = posix::TcpAddress;

class UringConnection final : public UringOwner {
 public:
  /// `connect_to`: a client, which connects first.
  static std::shared_ptr<UringConnection> create(
      std::shared_ptr<UringLoopCore> loop, posix::FileDescriptor socket, Connection connection,
      std::unique_ptr<StreamLayer> layer, std::shared_ptr<const UringEndpoint> endpoint,
      std::shared_ptr<UringConnectionTracker> tracker, std::unique_ptr<ConnectAddress> connect_to);

  UringConnection(std::shared_ptr<UringLoopCore> loop, posix::FileDescriptor socket,
                  Connection connection, std::unique_ptr<StreamLayer> layer,
                  std::shared_ptr<const UringEndpoint> endpoint,
                  std::shared_ptr<UringConnectionTracker> tracker,
                  std::unique_ptr<ConnectAddress> connect_to);
  ~UringConnection() override;

  const SessionPtr& session() const noexcept { return session_; }

  // Loop thread.
  /// Attaches to the loop and starts the exchange (the connect first).
  void start();
  /// Starts the close handshake with 1001 (graceful shutdown); a connection
  /// still in its opening handshake is dropped.
  void close_going_away();
  /// Drops the connection now; on_close (if due) reports `why`.
  void abort(std::error_code why);

  void on_completion(std::uint8_t op, const io_uring_cqe& cqe) override;
  void on_timer() override;
  void on_wake() override;
  void on_turn() override;
  void on_loop_destroyed() override;

 private:
  class Waker;
  enum Op : std::uint8_t { op_receive = 1, op_send, op_connect, op_cancel };
  enum class Receive : std::uint8_t { idle, armed, cancelling };

  void turn();
  void on_receive(const io_uring_cqe& cqe);
  void on_send(const io_uring_cqe& cqe);
  void on_connect(const io_uring_cqe& cqe);
  void take(ByteView bytes);
  void feed_held();
  std::size_t held_size() const noexcept { return held_.size() - held_begin_; }
  void update_receive();
  void arm_receive();
  void cancel_receive();
  void send_out();
  void sent(int result);
  void finish();
  void release_memory() noexcept;

  std::shared_ptr<UringLoopCore> loop_;
  posix::FileDescriptor socket_;
  std::shared_ptr<Waker> waker_;
  std::optional<Driver> driver_;
  SessionPtr session_;
  std::shared_ptr<UringConnectionTracker> tracker_;
  std::unique_ptr<ConnectAddress> connect_to_;  // until the connect completed

  // Received bytes the driver did not take yet: held_[held_begin_, end).
  std::vector<std::byte> held_;
  std::size_t held_begin_ = 0;
  std::size_t held_limit_ = 0;  // past it the receive is cancelled
  std::error_code held_error_;  // a receive error behind the held bytes
  bool held_eof_ = false;       // the end of the stream behind the held bytes

  // The send in flight: its msghdr and iovecs live until its completion.
  std::unique_ptr<iovec[]> iovecs_;
  msghdr message_{};
  std::size_t send_in_flight_ = 0;  // bytes offered; 0: none in flight
  int zero_copy_result_ = 0;        // a zero-copy send's result, until its notification
  bool zero_copy_ = false;

  Receive receive_ = Receive::idle;
  bool connecting_ = false;
  bool input_ended_ = false;  // end of stream or a receive error seen
  bool ended_ = false;        // finish() ran: the driver is told, operations cancelled
};

}  // namespace ws::uring::detail
