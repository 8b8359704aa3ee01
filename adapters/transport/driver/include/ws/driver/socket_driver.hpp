// SocketDriver: what a transport runs for one socket. A ws::Driver is one
// (one WebSocket on the socket); an HTTP/2 connection (ws::http2) is
// another, carrying many WebSockets and plain HTTP requests as streams, each
// stream with a Driver of its own.
//
// A transport that serves a socket through this interface gets HTTP/2 with
// no code of its own: it moves wire bytes and time exactly as it does for a
// Driver (the turn described in ws/driver/driver.hpp). Only the methods a
// transport calls are here; a Driver has more (sends of a transport's own
// API, event holding) that have no meaning for a multiplexed socket.
//
// Thread safety: none; one thread (the transport's) uses a SocketDriver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <system_error>

#include "ws/base/bytes.hpp"
#include "ws/base/result.hpp"
#include "ws/config.hpp"
#include "ws/driver/stream_layer.hpp"
#include "ws/output_buffer.hpp"

namespace ws {

struct Handler;
struct DriverOptions;
class Waker;

class SocketDriver {
 public:
  /// What step() tells the transport.
  enum class Turn : std::uint8_t {
    done,   // nothing more to do until I/O, a deadline or a wake
    yield,  // the fairness budget ran out with work left: run another turn
            // soon, after other sockets had theirs
  };

  virtual ~SocketDriver() = default;

  // Bytes in: see Driver.
  virtual bool wants_read() const noexcept = 0;
  virtual MutableByteView receive_buffer() = 0;
  virtual void commit_received(std::size_t n) noexcept = 0;
  virtual std::size_t receive(ByteView bytes) = 0;
  virtual std::size_t receive_room() const noexcept = 0;
  virtual void receive_eof() noexcept = 0;
  virtual void transport_failed(std::error_code error) noexcept = 0;

  // Bytes out: see Driver. Wire bytes.
  virtual bool wants_write() const noexcept = 0;
  virtual std::span<const OutputBuffer> pending_output() = 0;
  virtual std::size_t pending_output_size() const noexcept = 0;
  virtual void consume_output(std::size_t n) noexcept = 0;
  virtual void mark_output_in_flight(std::size_t n) noexcept = 0;

  // Work: see Driver.
  virtual Turn step(TimePoint now) = 0;
  virtual std::optional<TimePoint> next_deadline() const noexcept = 0;
  virtual bool should_close_transport() const noexcept = 0;
  virtual void transport_closed() = 0;
  virtual bool finished() const noexcept = 0;
  virtual bool take_buffers_released() noexcept = 0;

  // Transport-side controls: see Driver. On a multiplexed socket they apply
  // to every WebSocket it carries (and HTTP/2 says GOAWAY).
  virtual void close_going_away() = 0;
  virtual void abort(std::error_code why) = 0;
};

/// Everything a server's transport has for one accepted socket.
struct SocketDriverContext {
  std::shared_ptr<const Config> config;    // shared by the server's connections
  std::shared_ptr<const Handler> handler;  // the server's
  std::shared_ptr<const DriverOptions> options;
  std::shared_ptr<Waker> waker;          // wakes the socket's turn, any thread
  std::unique_ptr<StreamLayer> layer{};  // TLS, or null
};

/// Makes what serves each accepted socket of a server when it is not one
/// WebSocket over HTTP/1.1 (DriverOptions::socket_driver): HTTP/2 and
/// HTTP/1.1 on one port (ws::http2::server_protocols()). Shared by the
/// server's connections, so make() is const and may run on several threads
/// at once. Errors: what the protocol library reports (out of memory).
class SocketDriverFactory {
 public:
  virtual ~SocketDriverFactory() = default;
  virtual Result<std::unique_ptr<SocketDriver>> make(SocketDriverContext context) const = 0;
};

}  // namespace ws
