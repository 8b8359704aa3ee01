#include "socket_runner.hpp"

#include <asio/connect.hpp>
#include <asio/post.hpp>

#include "ws/driver/session.hpp"

namespace ws::asio::detail {

namespace {

bool would_block(const std::error_code& error) {
  return error == ::asio::error::would_block || error == ::asio::error::try_again;
}

// Asio's own "asio.system" category holds errno values but does not compare
// equal to std::errc: the connection's error is the same value in
// std::system_category, as the other transports report it (a refused
// connect then equals std::errc::connection_refused).
std::error_code portable(std::error_code error) {
  if (error.category() == ::asio::error::get_system_category())
    return {error.value(), std::system_category()};
  return error;
}

// writev takes this many buffers at once.
constexpr std::size_t max_gather = 64;

}  // namespace

/// Posts a turn to the runner's strand (dropped once the runner is gone).
class SocketRunner::Waker final : public ws::Waker {
 public:
  explicit Waker(::asio::any_io_executor executor) : executor_(std::move(executor)) {}
  void wake() noexcept override {
    try {
      ::asio::post(executor_, [runner = runner_] {
        if (const std::shared_ptr<SocketRunner> alive = runner.lock()) alive->turn();
      });
    } catch (...) {
      // Out of memory for the posted turn: the runner's timer still comes.
    }
  }
  void attach(std::weak_ptr<SocketRunner> runner) { runner_ = std::move(runner); }

 private:
  ::asio::any_io_executor executor_;
  std::weak_ptr<SocketRunner> runner_;  // set once, before any session use
};

Result<std::shared_ptr<SocketRunner>> SocketRunner::start(::asio::ip::tcp::socket socket,
                                                          const SocketDriverFactory& factory,
                                                          SocketDriverContext context,
                                                          Ended on_end) {
  auto waker = std::make_shared<Waker>(socket.get_executor());
  context.waker = waker;
  Result<std::unique_ptr<SocketDriver>> driver = factory.make(std::move(context));
  if (!driver) {
    std::error_code ignored;
    socket.close(ignored);
    return driver.error();
  }
  auto runner = std::make_shared<SocketRunner>(std::move(socket), std::move(on_end));
  runner->driver_ = std::move(*driver);
  waker->attach(runner);
  return runner;
}

void SocketRunner::begin() {
  std::error_code error;
  socket_.non_blocking(true, error);
  ::asio::post(socket_.get_executor(), [self = shared_from_this(), error] {
    if (error) self->driver_->transport_failed(error);
    self->turn();  // starts the clock: the handshake timeout runs from here
  });
}

void SocketRunner::connect_then_begin(std::string host, std::uint16_t port) {
  ::asio::post(socket_.get_executor(), [self = shared_from_this(), host = std::move(host), port] {
    if (self->ended_) return;
    self->connecting_ = true;
    self->resolver_.emplace(self->socket_.get_executor());
    self->turn();  // starts the handshake clock before the name is resolved
    if (self->ended_) return;
    self->resolver_->async_resolve(
        host, std::to_string(port), ::asio::ip::tcp::resolver::numeric_service,
        [self](std::error_code error, const ::asio::ip::tcp::resolver::results_type& results) {
          if (self->ended_) return;
          if (error) {
            self->connected(error);
            return;
          }
          ::asio::async_connect(self->socket_, results,
                                [self](std::error_code failed, const auto& /*endpoint*/) {
                                  self->connected(failed);
                                });
        });
  });
}

void SocketRunner::connected(std::error_code error) {
  if (ended_) return;  // ended meanwhile (timeout, abort): the socket is closed
  connecting_ = false;
  resolver_.reset();
  if (error) {
    driver_->abort(portable(error));  // on_close reports why, as for a failed tunnel
    finish();
    return;
  }
  std::error_code option_error;
  socket_.set_option(::asio::ip::tcp::no_delay(true), option_error);  // best effort
  socket_.non_blocking(true, error);
  if (error) driver_->transport_failed(error);
  readable_ = true;
  turn();
}

SocketRunner::SocketRunner(::asio::ip::tcp::socket socket, Ended on_end)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), on_end_(std::move(on_end)) {}

void SocketRunner::close_going_away() {
  ::asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->ended_) return;
    self->driver_->close_going_away();
    self->turn();
  });
}

void SocketRunner::abort(std::error_code why) {
  ::asio::post(socket_.get_executor(), [self = shared_from_this(), why] {
    if (self->ended_) return;
    self->driver_->abort(why);
    self->finish();
  });
}

void SocketRunner::turn() {
  if (ended_) return;
  if (connecting_) {
    // No socket to read or write yet: only the driver's clock and what the
    // session asked (a close, an abort) move.
    const SocketDriver::Turn result = driver_->step(Clock::now());
    if (driver_->should_close_transport()) {
      finish();
      return;
    }
    schedule(result == SocketDriver::Turn::yield ? std::optional<TimePoint>(Clock::now())
                                                 : driver_->next_deadline());
    return;
  }
  if (readable_) read();
  const SocketDriver::Turn result = driver_->step(Clock::now());
  write();
  if (driver_->should_close_transport()) {
    finish();
    return;
  }
  if (driver_->wants_read()) {
    if (readable_) {
      // Stopped by the turn's budget with bytes perhaps left: after the
      // other strands had theirs.
      ::asio::post(socket_.get_executor(), [self = shared_from_this()] { self->turn(); });
    } else if (!read_waiting_) {
      wait_readable();
    }
  }
  schedule(result == SocketDriver::Turn::yield ? std::optional<TimePoint>(Clock::now())
                                               : driver_->next_deadline());
}

void SocketRunner::read() {
  while (driver_->wants_read()) {
    const MutableByteView space = driver_->receive_buffer();
    if (space.empty()) return;
    std::error_code error;
    const std::size_t n = socket_.read_some(::asio::buffer(space.data(), space.size()), error);
    if (error == ::asio::error::interrupted) continue;
    if (would_block(error)) {
      readable_ = false;
      return;
    }
    if (error == ::asio::error::eof) {
      driver_->receive_eof();
      readable_ = false;
      return;
    }
    if (error) {
      driver_->transport_failed(error);
      readable_ = false;
      return;
    }
    driver_->commit_received(n);
  }
}

void SocketRunner::write() {
  if (write_waiting_) return;
  while (driver_->pending_output_size() > 0) {
    gather_.clear();
    for (const OutputBuffer& buffer : driver_->pending_output()) {
      gather_.emplace_back(buffer.data, buffer.size);
      if (gather_.size() == max_gather) break;
    }
    std::error_code error;
    const std::size_t n = socket_.write_some(gather_, error);
    if (error == ::asio::error::interrupted) continue;
    if (would_block(error)) {
      wait_writable();
      return;
    }
    if (error) {
      driver_->transport_failed(error);
      return;
    }
    driver_->consume_output(n);
  }
}

void SocketRunner::wait_readable() {
  read_waiting_ = true;
  socket_.async_wait(::asio::ip::tcp::socket::wait_read,
                     [self = shared_from_this()](std::error_code error) {
                       self->read_waiting_ = false;
                       if (self->ended_) return;
                       if (error) self->driver_->transport_failed(error);
                       self->readable_ = true;
                       self->turn();
                     });
}

void SocketRunner::wait_writable() {
  write_waiting_ = true;
  socket_.async_wait(::asio::ip::tcp::socket::wait_write,
                     [self = shared_from_this()](std::error_code error) {
                       self->write_waiting_ = false;
                       if (self->ended_) return;
                       if (error) self->driver_->transport_failed(error);
                       self->turn();
                     });
}

void SocketRunner::schedule(std::optional<TimePoint> when) {
  if (!when) {
    if (armed_) {
      armed_.reset();
      ++timer_generation_;
      timer_.cancel();
    }
    return;
  }
  // A timer set earlier fires early: the turn then asks again.
  if (armed_ && *armed_ <= *when) return;
  armed_ = when;
  const std::uint64_t generation = ++timer_generation_;
  timer_.expires_at(*when);
  timer_.async_wait([self = shared_from_this(), generation](std::error_code error) {
    if (error || generation != self->timer_generation_ || self->ended_) return;
    self->armed_.reset();
    self->turn();
  });
}

void SocketRunner::finish() {
  if (ended_) return;
  ended_ = true;
  if (resolver_) resolver_->cancel();  // a resolve in progress ends with operation_aborted
  std::error_code ignored;
  socket_.close(ignored);
  armed_.reset();
  ++timer_generation_;
  timer_.cancel();
  driver_->transport_closed();  // on_close of every WebSocket still open
  if (Ended on_end = std::move(on_end_)) on_end(this);
}

}  // namespace ws::asio::detail
