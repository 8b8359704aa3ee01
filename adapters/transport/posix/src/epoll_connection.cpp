#include "epoll_connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace ws::posix::detail {

/// Wakes the connection on the loop thread (the loop drops the wake if the
/// connection is gone).
class EpollConnection::Waker final : public ws::Waker {
 public:
  explicit Waker(std::shared_ptr<EpollLoopCore> loop) : loop_(std::move(loop)) {}
  void wake() noexcept override { loop_->wake(watcher_); }
  void attach(std::weak_ptr<EpollWatcher> watcher) { watcher_ = std::move(watcher); }

 private:
  std::shared_ptr<EpollLoopCore> loop_;
  std::weak_ptr<EpollWatcher> watcher_;  // set once, before any session use
};

std::shared_ptr<EpollConnection> EpollConnection::create(
    std::shared_ptr<EpollLoopCore> loop, FileDescriptor socket, Connection connection,
    std::shared_ptr<const EpollEndpoint> endpoint, std::shared_ptr<EpollConnectionTracker> tracker,
    bool connecting, std::unique_ptr<StreamLayer> layer) {
  auto waker = std::make_shared<Waker>(loop);
  // The options are the endpoint's, shared by its connections.
  auto driver = std::make_unique<Driver>(
      std::move(connection), endpoint->handler,
      std::shared_ptr<const DriverOptions>(endpoint, &endpoint->driver), waker, std::move(layer));
  SessionPtr session = driver->session();
  auto result = std::make_shared<EpollConnection>(
      std::move(loop), std::move(socket), waker, std::move(driver), std::move(tracker), connecting);
  result->session_ = std::move(session);
  waker->attach(result->weak_from_this());
  return result;
}

Result<std::shared_ptr<EpollConnection>> EpollConnection::create_served(
    std::shared_ptr<EpollLoopCore> loop, FileDescriptor socket,
    std::shared_ptr<const Config> config, std::shared_ptr<const EpollEndpoint> endpoint,
    std::shared_ptr<EpollConnectionTracker> tracker, std::unique_ptr<StreamLayer> layer) {
  return create_from(std::move(loop), std::move(socket), std::move(tracker), false,
                     [&](std::shared_ptr<ws::Waker> waker) {
                       SocketDriverContext context{
                           std::move(config), endpoint->handler,
                           std::shared_ptr<const DriverOptions>(endpoint, &endpoint->driver),
                           std::move(waker), std::move(layer)};
                       return endpoint->driver.socket_driver->make(std::move(context));
                     });
}

Result<std::shared_ptr<EpollConnection>> EpollConnection::create_from(
    std::shared_ptr<EpollLoopCore> loop, FileDescriptor socket,
    std::shared_ptr<EpollConnectionTracker> tracker, bool connecting,
    const SocketDriverMaker& make) {
  auto waker = std::make_shared<Waker>(loop);
  Result<std::unique_ptr<SocketDriver>> driver = make(waker);
  if (!driver) return driver.error();
  auto result =
      std::make_shared<EpollConnection>(std::move(loop), std::move(socket), waker,
                                        std::move(*driver), std::move(tracker), connecting);
  waker->attach(result->weak_from_this());
  return result;
}

EpollConnection::EpollConnection(std::shared_ptr<EpollLoopCore> loop, FileDescriptor socket,
                                 std::shared_ptr<Waker> waker, std::unique_ptr<SocketDriver> driver,
                                 std::shared_ptr<EpollConnectionTracker> tracker, bool connecting)
    : loop_(std::move(loop)),
      socket_(std::move(socket)),
      waker_(std::move(waker)),
      driver_(std::move(driver)),
      tracker_(std::move(tracker)),
      connecting_(connecting) {}

EpollConnection::~EpollConnection() = default;  // an unfinished driver ends its session quietly

void EpollConnection::start() {
  if (ended_) return;  // closed before the loop got to it (a connect cancelled)
  const std::uint32_t events = connecting_ ? EPOLLOUT : EPOLLIN;
  if (const std::error_code error = loop_->add(shared_from_this(), socket_.get(), events)) {
    driver_->abort(error);
    finish();
    return;
  }
  interest_ = events;
  turn();  // starts the clock: the handshake timeout also covers a connect
}

void EpollConnection::close_going_away() {
  if (ended_) return;
  driver_->close_going_away();
  turn();
}

void EpollConnection::abort(std::error_code why) {
  if (ended_) return;
  driver_->abort(why);
  finish();
}

void EpollConnection::on_events(std::uint32_t events) {
  if (ended_) return;
  if (connecting_) {
    finish_connect(events);
    return;
  }
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
    if (driver_->wants_read()) {
      read_some();
    } else if ((events & (EPOLLHUP | EPOLLERR)) != 0) {
      // Not reading, and the peer is gone both ways.
      driver_->transport_failed(std::make_error_code(std::errc::connection_reset));
    }
  }
  turn();
}

void EpollConnection::on_timer() {
  if (!ended_) turn();
}

void EpollConnection::on_wake() {
  if (!ended_) turn();
}

void EpollConnection::on_loop_destroyed() {
  // No callbacks: the driver ends its session quietly.
  ended_ = true;
  socket_.reset();
  driver_.reset();
  tracker_.reset();
}

void EpollConnection::finish_connect(std::uint32_t events) {
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(socket_.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error == 0 && (events & EPOLLOUT) == 0) error = ECONNREFUSED;
  if (error != 0) {
    driver_->abort(std::error_code(error, std::system_category()));
    finish();
    return;
  }
  connecting_ = false;
  set_nodelay(socket_.get());
  turn();
}

void EpollConnection::read_some() {
  // Into the loop's buffer, then into the driver: never more than the
  // connection keeps (receive_room), so nothing read is left over. Until a
  // read comes up short or the driver's turn budget is spent.
  const std::span<std::byte> buffer = loop_->read_buffer();
  while (true) {
    const std::size_t room = std::min(driver_->receive_room(), buffer.size());
    if (room == 0) return;  // not reading, or the input is full: the turn drains it
    const ssize_t got = ::read(socket_.get(), buffer.data(), room);
    if (got > 0) {
      const auto n = static_cast<std::size_t>(got);
      driver_->receive(ByteView(buffer.data(), n));
      if (n < room) return;
    } else if (got == 0) {
      driver_->receive_eof();
      return;
    } else if (errno == EINTR) {
      continue;
    } else {
      if (errno != EAGAIN && errno != EWOULDBLOCK) driver_->transport_failed(last_system_error());
      return;
    }
  }
}

void EpollConnection::turn() {
  const TimePoint now = loop_->now();
  const SocketDriver::Turn result = driver_->step(now);
  if (driver_->take_buffers_released()) loop_->memory_released();
  if (!connecting_) write_out();
  if (driver_->should_close_transport()) {
    finish();
    return;
  }
  if (!connecting_) update_interest();
  if (ended_) return;
  // A turn cut short by the fairness budget continues after the other
  // connections had theirs (timers run after the next epoll_wait).
  loop_->schedule(*this, result == SocketDriver::Turn::yield ? std::optional<TimePoint>(now)
                                                             : driver_->next_deadline());
}

void EpollConnection::write_out() {
  const std::span<iovec> vectors = loop_->iovecs();
  while (driver_->pending_output_size() > 0) {
    const std::span<const OutputBuffer> output = driver_->pending_output();
    const std::size_t count = std::min(output.size(), vectors.size());
    std::size_t offered = 0;
    for (std::size_t i = 0; i < count; ++i) {
      vectors[i].iov_base = const_cast<std::byte*>(output[i].data);
      vectors[i].iov_len = output[i].size;
      offered += output[i].size;
    }
    msghdr message{};
    message.msg_iov = vectors.data();
    message.msg_iovlen = count;
    // sendmsg is writev with flags: MSG_NOSIGNAL turns SIGPIPE into EPIPE.
    const ssize_t written = ::sendmsg(socket_.get(), &message, MSG_NOSIGNAL);
    if (written >= 0) {
      driver_->consume_output(static_cast<std::size_t>(written));
      if (static_cast<std::size_t>(written) < offered) {
        want_write_ = true;  // the socket buffer is full
        return;
      }
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      want_write_ = true;
      return;
    } else if (errno != EINTR) {
      driver_->transport_failed(last_system_error());
      want_write_ = false;
      return;
    }
  }
  want_write_ = false;
}

void EpollConnection::update_interest() {
  std::uint32_t wanted = 0;
  if (driver_->wants_read()) wanted |= EPOLLIN;
  if (want_write_) wanted |= EPOLLOUT;
  if (wanted == interest_) return;
  if (const std::error_code error = loop_->modify(*this, socket_.get(), wanted)) {
    driver_->abort(error);
    finish();
    return;
  }
  interest_ = wanted;
}

void EpollConnection::finish() {
  if (ended_) return;
  ended_ = true;
  loop_->schedule(*this, std::nullopt);
  loop_->remove(*this, socket_.get());
  socket_.reset();              // a server closes first (RFC 6455 7.1.1)
  driver_->transport_closed();  // on_close, if due
  driver_.reset();
  // What it held (a TLS layer's buffers above all) goes back to the system
  // with the next trim, not only what idle connections release.
  loop_->memory_released();
  if (tracker_) {
    const std::shared_ptr<EpollConnectionTracker> tracker = std::move(tracker_);
    tracker->connection_ended(*this);
  }
}

}  // namespace ws::posix::detail
