// The blocking transport: runs one ws::Driver on the calling thread over a
// borrowed socket, until the connection ends. Internal.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <system_error>

#include "ws/connection.hpp"
#include "ws/driver/driver.hpp"
#include "ws/posix/blocking.hpp"

namespace ws::posix::detail {

class BlockingLoop {
 public:
  BlockingLoop(int fd, Connection connection, BlockingHandler& handler,
               const DriverOptions& options, BlockingConnectionSet* connections,
               std::unique_ptr<StreamLayer> layer = {},
               std::function<void(const Closed&)> on_failed = {});
  ~BlockingLoop();
  BlockingLoop(const BlockingLoop&) = delete;
  BlockingLoop& operator=(const BlockingLoop&) = delete;

  /// Runs until the connection ends; shuts the socket down (both ways) and
  /// returns why it ended (see serve()).
  std::error_code run();

 private:
  class Waker;

  void read_some();
  void flush();
  void finish();

  int fd_;
  std::shared_ptr<Waker> waker_;
  std::shared_ptr<const Handler> handler_;
  Driver driver_;
  BlockingConnectionSet* connections_;
  bool opened_ = false;  // on_open was called (on_close is then due)
  // The last recv filled all the space it was offered, so more is most
  // likely waiting: the next round reads again without polling first.
  bool read_filled_space_ = false;
  bool finished_ = false;
};

}  // namespace ws::posix::detail
