// StreamLayer: a sans-I/O transformation of the byte stream between a
// transport and the Driver; TLS (ws::tls) is the one the library ships.
//
// The transport moves wire bytes (what the socket carries); the Driver moves
// the Connection's bytes (the WebSocket stream) through the layer. Because
// the Driver owns the layer, every transport that hosts a Driver (blocking
// threads, epoll, io_uring, memory) gets it with no code of its own: it
// reads into the Driver and writes the Driver's pending_output() as before,
// and those are wire bytes.
//
// Lifetimes: views returned by wire_buffer() and pending_wire() are valid
// until the next non-const call, except the first n pending wire bytes after
// mark_wire_in_flight(n), which stay valid and unmoved until consume_wire()
// consumed them (an io_uring send reads them after submission).
//
// Thread safety: none; used by the one thread that uses its Driver.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>

#include "ws/base/bytes.hpp"
#include "ws/base/result.hpp"
#include "ws/base/role.hpp"
#include "ws/output_buffer.hpp"

namespace ws {

class StreamLayer {
 public:
  virtual ~StreamLayer() = default;

  // ---- Wire bytes in (from the transport) -------------------------------

  /// Space to read wire bytes into; empty when the layer holds as much
  /// undecoded input as it takes (the Connection is not reading).
  virtual MutableByteView wire_buffer() = 0;
  /// The first n bytes of wire_buffer() were filled.
  virtual void commit_wire(std::size_t n) = 0;
  /// Wire bytes read elsewhere; returns how many were taken (all of them
  /// when bytes.size() <= wire_room()).
  virtual std::size_t receive_wire(ByteView bytes) = 0;
  /// How many bytes receive_wire() takes now.
  virtual std::size_t wire_room() const noexcept = 0;
  /// The transport's stream ended. A peer that ends it without its own end
  /// of stream (TLS close_notify) is an ordinary end of stream, not an
  /// error: the WebSocket close handshake says whether anything was lost.
  virtual void receive_wire_eof() = 0;

  // ---- Decoded bytes (to the Connection) --------------------------------

  /// Decodes into `into`; returns how many bytes were written (0: none
  /// now). Also advances the layer's own handshake.
  virtual std::size_t read(MutableByteView into) = 0;
  /// True once the decoded stream ended and read() returned all of it.
  virtual bool read_ended() const noexcept = 0;

  // ---- Bytes to send (from the Connection) ------------------------------

  /// Encodes bytes from the front of `buffers`; returns how many it took
  /// (0 while its own handshake is not done, or while pending_wire_size()
  /// is above what it buffers).
  virtual std::size_t write(std::span<const OutputBuffer> buffers) = 0;
  /// Ends the encoded stream (TLS close_notify) after what write() took.
  /// Idempotent.
  virtual void shutdown() = 0;
  /// True once shutdown() ran.
  virtual bool shutdown_started() const noexcept = 0;

  // ---- Wire bytes out (to the transport) --------------------------------

  virtual std::span<const OutputBuffer> pending_wire() = 0;
  virtual std::size_t pending_wire_size() const noexcept = 0;
  /// The first n pending wire bytes were written.
  virtual void consume_wire(std::size_t n) = 0;
  /// The first n pending wire bytes stay valid and in place until consumed.
  virtual void mark_wire_in_flight(std::size_t n) = 0;

  // ---- State ------------------------------------------------------------

  /// Set once the layer failed (a malformed record, a failed handshake, a
  /// certificate refused): the stream is unusable. Wire bytes pending then
  /// (a TLS alert) may still be written before the transport closes.
  virtual std::error_code error() const noexcept = 0;
  /// What the layer's peer said when error() is set, for people (a proxy's
  /// "HTTP/1.0 407 Proxy Authentication Required", a SOCKS reply); empty
  /// when the layer has nothing to add to error(). Valid while the layer
  /// lives and unchanged once error() is set. The Driver hands it to
  /// on_close as Closed::reason when the layer's failure ended the
  /// connection (no close frame exists then to carry a reason).
  virtual std::string_view error_detail() const noexcept { return {}; }
  /// True once the layer's own handshake completed.
  virtual bool handshake_done() const noexcept = 0;
  /// The application protocol the layer negotiated (TLS ALPN: "http/1.1",
  /// "h2"); empty when none.
  virtual std::string_view selected_protocol() const noexcept = 0;
  /// Frees buffers that hold nothing (an idle connection).
  virtual void release_idle_buffers() noexcept {}
};

/// Makes the layer of each connection of a server or client; shared by
/// them, so make() is const and may run on several threads at once.
class StreamLayerFactory {
 public:
  virtual ~StreamLayerFactory() = default;
  /// `host`: a client's server name (SNI, certificate check); empty for a
  /// server.
  virtual Result<std::unique_ptr<StreamLayer>> make(Role role, std::string_view host) const = 0;
  /// The calling thread, which used layers of this factory, is about to
  /// end: free what the layer's library keeps per thread (OpenSSL: its
  /// per-thread random generators and error queue), which it would
  /// otherwise free only in a thread-exit hook that may run after the
  /// process began to exit. Transports that end threads of their own
  /// (ThreadServer) call it. Any thread.
  virtual void thread_ending() const noexcept {}
};

}  // namespace ws
