#include "blocking_loop.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <mutex>
#include <utility>

#include "ws/base/error.hpp"
#include "ws/posix/socket.hpp"

namespace ws::posix::detail {

namespace {

// Milliseconds until `deadline` for poll(), rounded up so that the loop does
// not wake a hair early and spin; -1 (wait forever) without a deadline.
int poll_timeout(std::optional<TimePoint> deadline, TimePoint now) noexcept {
  if (!deadline) return -1;
  if (*deadline <= now) return 0;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now).count();
  return static_cast<int>(std::min<std::int64_t>(wait, INT_MAX));
}

}  // namespace

/// Wakes the owning thread's poll through an eventfd. The session may
/// outlive the connection (other threads may still send); the eventfd is
/// closed when the connection ends, under a lock, so that a late wake never
/// writes to a descriptor number the process has reused.
class BlockingLoop::Waker final : public ws::Waker {
 public:
  Waker() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  bool valid() const noexcept { return fd_.get() >= 0; }
  /// The owning thread only, while the connection runs.
  int fd() const noexcept { return fd_.get(); }
  void wake() noexcept override {
    const std::lock_guard lock(mutex_);
    if (fd_.get() < 0) return;
    const std::uint64_t one = 1;
    while (::write(fd_.get(), &one, sizeof one) < 0 && errno == EINTR) {
    }
  }
  void drain() noexcept {
    std::uint64_t count = 0;
    while (::read(fd_.get(), &count, sizeof count) < 0 && errno == EINTR) {
    }
  }
  void close() noexcept {
    const std::lock_guard lock(mutex_);
    fd_.reset();
  }

 private:
  std::mutex mutex_;
  FileDescriptor fd_;
};

namespace {

// The blocking adapter's virtual handler seen through the one Handler shape.
// A BlockingHandler hears on_close only after on_open (serve and connect
// return the error of a connection that never opened); before it,
// `on_failed` (BlockingClientOptions::on_failed) sees the Closed event. A
// Handler given to connect() (through HandlerAdapter) was promised on_close
// for every client session, a refused one too (ws/driver/handler.hpp), as
// the loop transports give it: the Driver reports it only for clients and
// opened sessions, so it is passed on as it comes.
std::shared_ptr<const Handler> bridge(BlockingHandler& handler, const DriverOptions& options,
                                      BlockingConnectionSet* connections, bool& opened,
                                      std::function<void(const Closed&)> on_failed) {
  auto bridged = std::make_shared<Handler>();
  bridged->on_upgrade = [&handler, &options, connections](const UpgradeRequest& request) {
    if (connections != nullptr && connections->shutting_down()) {
      return UpgradeDecision::reject(503, "shutting down");
    }
    return handler.on_upgrade(request, options.accept);
  };
  bridged->on_http = [&handler](const HttpHead& head) { return handler.on_http(head); };
  bridged->on_open = [&handler, connections, &opened](const SessionPtr& session) {
    opened = true;
    if (connections != nullptr && !connections->add(session)) {
      // Opened while the server shuts down: say goodbye at once.
      (void)session->close(CloseCode::going_away);
    }
    handler.on_open(session);
  };
  bridged->on_message = [&handler](const SessionPtr& session, const Message& message) {
    handler.on_message(session, message);
  };
  bridged->on_ping = [&handler](const SessionPtr& session, const Ping& ping) {
    handler.on_ping(session, ping);
  };
  bridged->on_pong = [&handler](const SessionPtr& session, const Pong& pong) {
    handler.on_pong(session, pong);
  };
  bridged->on_rejected = [&handler](const SessionPtr& session, const Rejected& rejected) {
    handler.on_rejected(session, rejected);
  };
  const bool handler_shape = dynamic_cast<const HandlerAdapter*>(&handler) != nullptr;
  bridged->on_close = [&handler, &opened, handler_shape, on_failed = std::move(on_failed)](
                          const SessionPtr& session, const Closed& closed) {
    if (!opened && on_failed) on_failed(closed);
    if (opened || handler_shape) handler.on_close(session, closed);
  };
  return bridged;
}

}  // namespace

BlockingLoop::BlockingLoop(int fd, Connection connection, BlockingHandler& handler,
                           const DriverOptions& options, BlockingConnectionSet* connections,
                           std::unique_ptr<StreamLayer> layer,
                           std::function<void(const Closed&)> on_failed)
    : fd_(fd),
      waker_(std::make_shared<Waker>()),
      handler_(bridge(handler, options, connections, opened_, std::move(on_failed))),
      driver_(std::move(connection), handler_, options, waker_, std::move(layer)),
      connections_(connections) {}

BlockingLoop::~BlockingLoop() {
  if (finished_) return;
  // run() did not finish: a handler threw and the exception is on its way
  // out of serve(). No handler may run now (a second throw would
  // terminate): the driver ends the session quietly when it is destroyed.
  finished_ = true;
  waker_->close();
  if (connections_ != nullptr) connections_->remove(driver_.session().get());
  ::shutdown(fd_, SHUT_RDWR);
}

std::error_code BlockingLoop::run() {
  if (!waker_->valid()) {
    driver_.abort(std::make_error_code(std::errc::too_many_files_open));
    finish();
    return driver_.result();
  }
  TimePoint now = Clock::now();
  for (;;) {
    const Driver::Turn turn = driver_.step(now);
    flush();
    if (driver_.should_close_transport()) break;
    if (turn == Driver::Turn::yield) {
      now = Clock::now();
      continue;  // one connection per thread: nobody else to let run
    }
    if (read_filled_space_ && driver_.wants_read()) {
      // A large message arrives in several reads: one poll for each would
      // double the system calls. What other threads queued is taken at the
      // next step all the same; their wake-up is drained by a later poll.
      read_some();
      now = Clock::now();
      continue;
    }
    const bool reading = driver_.wants_read();
    const bool writing = driver_.wants_write();
    const std::optional<TimePoint> deadline = driver_.next_deadline();

    pollfd polled[2]{};
    short socket_events = 0;
    if (reading) socket_events |= POLLIN;
    if (writing) socket_events |= POLLOUT;
    // A socket polled for nothing would still report POLLHUP and spin.
    polled[0].fd = socket_events != 0 ? fd_ : -1;
    polled[0].events = socket_events;
    polled[1].fd = waker_->fd();
    polled[1].events = POLLIN;
    if (socket_events == 0 && !deadline && driver_.connection().state() == State::closed) {
      // Closed, nothing to read or write and no timer: nothing can happen.
      break;
    }
    const int ready = ::poll(polled, 2, poll_timeout(deadline, now));
    if (ready < 0 && errno != EINTR) {
      driver_.transport_failed(last_system_error());
    }
    now = Clock::now();
    if (ready > 0) {
      if ((polled[1].revents & POLLIN) != 0) waker_->drain();
      if (reading && (polled[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) read_some();
    }
  }
  finish();
  return driver_.result();
}

void BlockingLoop::flush() {
  while (driver_.pending_output_size() > 0) {
    const Result<std::size_t> written = write_some(fd_, driver_.pending_output());
    if (!written) {
      driver_.transport_failed(written.error());
      return;
    }
    if (*written == 0) return;  // the socket buffer is full
    driver_.consume_output(*written);
  }
}

void BlockingLoop::read_some() {
  read_filled_space_ = false;
  const MutableByteView space = driver_.receive_buffer();
  if (space.empty()) return;  // events first; the next round reads again
  for (;;) {
    const ssize_t received = ::recv(fd_, space.data(), space.size(), MSG_DONTWAIT);
    if (received > 0) {
      driver_.commit_received(static_cast<std::size_t>(received));
      read_filled_space_ = static_cast<std::size_t>(received) == space.size();
      return;
    }
    if (received < 0 && errno == EINTR) continue;
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // End of stream, or a reset: either way the peer is gone. The
    // Connection decides what that means (unexpected_eof unless closed).
    driver_.receive_eof();
    return;
  }
}

void BlockingLoop::finish() {
  if (finished_) return;
  finished_ = true;
  driver_.transport_closed();
  waker_->close();
  if (connections_ != nullptr) connections_->remove(driver_.session().get());
  // The caller owns the descriptor; shutting it down sends our FIN now (a
  // server closes first, RFC 6455 7.1.1) and wakes anyone else blocked on it.
  ::shutdown(fd_, SHUT_RDWR);
}

}  // namespace ws::posix::detail
