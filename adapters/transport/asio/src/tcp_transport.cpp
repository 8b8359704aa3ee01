#include <array>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include "ws/asio/detail/transport.hpp"

namespace ws::asio::detail {
namespace {

bool would_block(const std::error_code& error) {
  return error == ::asio::error::would_block || error == ::asio::error::try_again;
}

// writev takes at most this many buffers at once (IOV_MAX is larger, but
// Asio gathers 64).
constexpr std::size_t max_gather = 64;
// Bytes read and thrown away per turn while lingering after the close.
constexpr std::size_t drain_turn_reads = 16;

}  // namespace

// ---- EngineService ----------------------------------------------------------------

::asio::execution_context::id EngineService::id;

EngineService::EngineService(::asio::execution_context& context)
    : ::asio::execution_context::service(context) {}

void EngineService::add(Engine* engine) {
  std::lock_guard lock(mutex_);
  engines_.insert(engine);
}

void EngineService::remove(Engine* engine) noexcept {
  std::lock_guard lock(mutex_);
  engines_.erase(engine);
}

void EngineService::shutdown() {
  std::vector<Engine::Orphans> orphans;
  {
    std::lock_guard lock(mutex_);
    for (Engine* engine : engines_) {
      orphans.emplace_back();
      engine->orphan_operations(orphans.back());
    }
  }
  // Destroying them may destroy engines, which remove themselves.
  orphans.clear();
}

// ---- AsioEngine -----------------------------------------------------------------

AsioEngine::AsioEngine(const ::asio::any_io_executor& executor, StreamOptions options)
    : Engine(std::move(options)),
      executor_(executor),
      service_(
          ::asio::use_service<EngineService>(::asio::query(executor, ::asio::execution::context))),
      timer_(executor) {
  service_.add(this);
}

AsioEngine::~AsioEngine() { service_.remove(this); }

void AsioEngine::schedule_timer(std::optional<TimePoint> when) {
  if (!when) {
    if (armed_) cancel_timer();
    return;
  }
  // A timer set earlier fires early: timer_fired() then asks again.
  if (armed_ && *armed_ <= *when) return;
  armed_ = when;
  const std::uint64_t generation = ++timer_generation_;
  timer_.expires_at(*when);
  timer_.async_wait([self = std::static_pointer_cast<AsioEngine>(shared_from_this()),
                     generation](std::error_code error) {
    if (error || generation != self->timer_generation_ || self->socket_closed_) return;
    self->armed_.reset();
    self->timer_fired();
  });
}

void AsioEngine::cancel_timer() {
  armed_.reset();
  ++timer_generation_;
  timer_.cancel();
}

void AsioEngine::post_turn() {
  ::asio::post(executor_,
               [self = std::static_pointer_cast<AsioEngine>(shared_from_this())] { self->turn(); });
}

// ---- TcpEngine --------------------------------------------------------------------

TcpEngine::TcpEngine(socket_type socket, StreamOptions options)
    : AsioEngine(socket.get_executor(), std::move(options)), socket_(std::move(socket)) {}

std::shared_ptr<TcpEngine> TcpEngine::self() {
  return std::static_pointer_cast<TcpEngine>(shared_from_this());
}

void TcpEngine::transport_start(Role, const std::string&) {
  std::error_code error;
  socket_.non_blocking(true, error);
  transport_ready(error);
}

Engine::ReadStop TcpEngine::transport_read() {
  if (read_waiting_) return ReadStop::waiting;
  if (!readable_) {
    wait_readable();
    return ReadStop::waiting;
  }
  // Until the socket is empty or the driver wants no more this turn. The
  // buffer is asked for only now, after readiness: an idle connection's
  // freed buffers stay freed while it waits.
  Driver& driver = this->driver();
  while (driver.wants_read()) {
    const MutableByteView space = driver.receive_buffer();
    if (space.empty()) return ReadStop::full;
    std::error_code error;
    const std::size_t n = socket_.read_some(::asio::buffer(space.data(), space.size()), error);
    if (error == ::asio::error::interrupted) continue;
    if (would_block(error)) {
      readable_ = false;
      wait_readable();
      return ReadStop::waiting;
    }
    if (error == ::asio::error::eof) {
      read_eof();
      return ReadStop::ended;
    }
    if (error) {
      transport_failed(error);
      return ReadStop::ended;
    }
    driver.commit_received(n);
  }
  return ReadStop::budget;
}

void TcpEngine::wait_readable() {
  read_waiting_ = true;
  socket_.async_wait(socket_type::wait_read, [self = self()](std::error_code error) {
    self->read_waiting_ = false;
    if (self->socket_closed_) return;
    if (self->shutting_down_) {
      if (error) {
        self->close_now();
      } else {
        self->drain();
      }
      return;
    }
    if (error) {
      self->transport_failed(error);
    } else {
      self->readable_ = true;
    }
    self->turn();
  });
}

void TcpEngine::transport_write() {
  if (write_waiting_) return;
  Driver& driver = this->driver();
  while (driver.pending_output_size() > 0) {
    gather_.clear();
    for (const OutputBuffer& buffer : driver.pending_output()) {
      gather_.emplace_back(buffer.data, buffer.size);
      if (gather_.size() == max_gather) break;
    }
    std::error_code error;
    const std::size_t n = socket_.write_some(gather_, error);
    if (error == ::asio::error::interrupted) continue;
    if (would_block(error)) {
      write_waiting_ = true;
      socket_.async_wait(socket_type::wait_write, [self = self()](std::error_code wait_error) {
        self->write_waiting_ = false;
        if (self->socket_closed_ || self->shutting_down()) return;
        if (wait_error) self->transport_failed(wait_error);
        self->turn();  // writes the output afresh: it may have changed
      });
      return;
    }
    if (error) {
      transport_failed(error);
      return;
    }
    output_written(n);
  }
}

void TcpEngine::transport_shutdown(bool peer_ended) {
  shutting_down_ = true;
  if (peer_ended) {
    close_now();
    return;
  }
  // Send our FIN and read until the peer's, so that data it still sends
  // does not make our close a reset that could destroy our last frames in
  // its receive buffer.
  std::error_code ignored;
  socket_.shutdown(socket_type::shutdown_send, ignored);
  if (!read_waiting_) drain();
}

void TcpEngine::drain() {
  std::array<std::byte, 4096> scratch;
  for (std::size_t round = 0; round < drain_turn_reads; ++round) {
    std::error_code error;
    socket_.read_some(::asio::buffer(scratch), error);
    if (error == ::asio::error::interrupted) continue;
    if (would_block(error)) {
      wait_readable();
    } else if (error) {
      close_now();  // the end of the stream, or a reset: done either way
    }
    if (error) return;
  }
  ::asio::post(get_executor(), [self = self()] {
    if (!self->socket_closed_) self->drain();
  });
}

void TcpEngine::transport_abort() {
  shutting_down_ = true;
  close_now();
}

void TcpEngine::close_now() {
  if (socket_closed_) return;
  socket_closed_ = true;
  std::error_code ignored;
  socket_.close(ignored);
  cancel_timer();
  transport_closed();
}

}  // namespace ws::asio::detail
