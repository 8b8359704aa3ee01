// The owner loop of the blocking adapter: runs one Connection on the calling
// thread over a borrowed socket, until the connection ends. Internal.
#pragma once

#include <memory>
#include <optional>
#include <system_error>
#include <vector>

#include "ws/connection.hpp"
#include "ws/posix/blocking.hpp"

namespace ws::posix::detail {

class BlockingLoop {
 public:
  BlockingLoop(int fd, Connection connection, BlockingHandler& handler,
               const BlockingCommonOptions& options, const AcceptOptions* accept_defaults);
  ~BlockingLoop();
  BlockingLoop(const BlockingLoop&) = delete;
  BlockingLoop& operator=(const BlockingLoop&) = delete;

  /// Runs until the connection ends; shuts the socket down (both ways) and
  /// returns why it ended (see serve()).
  std::error_code run();

  static std::shared_ptr<BlockingSession> make_session(Role role,
                                                       const channels::BackpressureLimits& limits);

  /// Sends from the owning thread (BlockingSession on that thread): what
  /// other threads queued goes first, then this, straight into the
  /// Connection. Connection::send_* errors.
  std::error_code send_now(MessageKind kind, ByteView payload);
  std::error_code send_now(const std::shared_ptr<const PreparedMessage>& message);

 private:
  void dispatch_events();
  void answer_upgrade(const UpgradeRequest& request);
  void apply_session_requests();
  void send_queued_messages();
  std::error_code send_one(const std::shared_ptr<const PreparedMessage>& message);
  std::error_code flush(TimePoint now);
  void read_some();
  void report_closed(const Closed& closed);
  void fail_transport(std::error_code error);
  void finish();

  int fd_;
  Connection connection_;
  BlockingHandler& handler_;
  const BlockingCommonOptions& options_;
  const AcceptOptions* accept_defaults_;
  std::shared_ptr<BlockingSession> session_;

  std::vector<std::shared_ptr<const PreparedMessage>> batch_;
  bool opened_ = false;  // on_open was called
  bool closed_ = false;  // Closed seen (or the transport failed)
  bool eof_ = false;     // the peer ended its side
  // The last recv filled all the space it was offered, so more is most
  // likely waiting: the next round reads again without polling first.
  bool read_filled_space_ = false;
  bool policy_close_sent_ = false;
  bool connection_queue_full_ = false;  // send_queued hit Limits::max_queued_output
  bool aborted_ = false;
  bool finished_ = false;
  bool paused_ = false;                     // not reading: output above high water
  std::optional<TimePoint> stalled_since_;  // output waiting, no progress since
  std::error_code result_;
};

}  // namespace ws::posix::detail
