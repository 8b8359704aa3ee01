// The Asio side of an Engine: its timer and executor (AsioEngine), and the
// plain TCP transport (TcpEngine). TLS is in tls_transport.hpp.
//
// TCP reads and writes are readiness-based: wait for the socket, then read
// straight into the driver's receive_buffer() or write its pending output
// with one gathered non-blocking call. No byte is copied and no view of the
// Connection is held across a wait, so the Connection may change (queue a
// pong, take a send, free its idle buffers) while the socket waits.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <vector>

#include "ws/asio/detail/engine.hpp"

namespace ws::asio::detail {

/// Knows every engine of one execution context. When the context shuts down
/// (io_context destroyed with operations pending) it destroys their pending
/// handlers, as Asio does with its own operations, so that cycles through
/// them are freed.
class EngineService final : public ::asio::execution_context::service {
 public:
  static ::asio::execution_context::id id;
  explicit EngineService(::asio::execution_context& context);
  void add(Engine* engine);
  void remove(Engine* engine) noexcept;

 private:
  void shutdown() override;
  std::mutex mutex_;
  std::unordered_set<Engine*> engines_;
};

class AsioEngine : public Engine {
 public:
  ~AsioEngine() override;
  const ::asio::any_io_executor& get_executor() const noexcept { return executor_; }

 protected:
  AsioEngine(const ::asio::any_io_executor& executor, StreamOptions options);

  /// The socket is closed: handlers still in flight do nothing.
  bool socket_closed_ = false;
  void cancel_timer();

 private:
  void schedule_timer(std::optional<TimePoint> when) final;
  void post_turn() final;

  ::asio::any_io_executor executor_;
  EngineService& service_;
  ::asio::steady_timer timer_;
  std::optional<TimePoint> armed_;
  std::uint64_t timer_generation_ = 0;
};

class TcpEngine final : public AsioEngine {
 public:
  using socket_type = ::asio::ip::tcp::socket;

  TcpEngine(socket_type socket, StreamOptions options);
  socket_type& next_layer() noexcept { return socket_; }

 private:
  void transport_start(Role role, const std::string& host) override;
  ReadStop transport_read() override;
  void transport_write() override;
  void transport_shutdown(bool peer_ended) override;
  void transport_abort() override;

  void wait_readable();
  void drain();
  void close_now();
  std::shared_ptr<TcpEngine> self();

  socket_type socket_;
  std::vector<::asio::const_buffer> gather_;
  bool shutting_down_ = false;
  bool read_waiting_ = false;
  bool write_waiting_ = false;
  bool readable_ = true;  // no read has come up empty since the last wait
};

}  // namespace ws::asio::detail
