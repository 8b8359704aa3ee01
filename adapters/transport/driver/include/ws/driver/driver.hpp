// Driver: everything between one ws::Connection and a transport that is not
// moving bytes. It owns the Connection, the Session (the thread-safe handle
// with its cross-thread Outbox), backpressure with one pause/resume rule,
// the write-stall timeout, idle-buffer release, a fairness budget, the
// slow-subscriber policy, and the translation of events into Handler
// calls. It does no I/O and reads no clock, in the spirit of nghttp2's
// session_want_read/want_write: a transport asks what the driver wants and
// moves bytes and time.
//
// A transport's turn, whenever its socket is ready, a timer is due or the
// Waker was called:
//
//   while (driver.wants_read()) read into driver.receive_buffer(), then
//       commit_received(n) (or receive(bytes), or receive_eof(), or
//       transport_failed(error)); stop at a short read
//   Turn turn = driver.step(now);
//   write driver.pending_output(), consume_output(written)
//   if (driver.should_close_transport()) { close the socket;
//       driver.transport_closed(); done }
//   wait for readable if wants_read(), writable if wants_write(), the
//   time next_deadline(), and the Waker; if turn == Turn::yield, run
//   another turn soon, after other connections had theirs.
//
// Thread safety: none; one thread (the transport's) uses a Driver. Other
// threads use its Session.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "ws/config.hpp"
#include "ws/connection.hpp"
#include "ws/driver/client_route.hpp"
#include "ws/driver/handler.hpp"
#include "ws/driver/outbox.hpp"
#include "ws/driver/session.hpp"
#include "ws/driver/socket_driver.hpp"
#include "ws/driver/stream_layer.hpp"

namespace ws {

/// How much one connection may do in one turn before the transport lets
/// other connections run. A peer that floods frames completing no message
/// (empty continuations, pings) then delays its neighbours by at most one
/// turn's work.
struct FairnessBudget {
  /// Bytes read from the peer per turn (wants_read() turns false past it).
  std::size_t bytes_per_turn = 256 * 1024;
  /// Events handed to the application per turn (step() returns yield).
  std::size_t events_per_turn = 64;
};

/// What a transport's server or client passes to each of its drivers. The
/// same struct on every transport.
struct DriverOptions {
  /// Marks and slow-subscriber policy (see Session and BackpressureLimits).
  BackpressureLimits backpressure{};
  /// Output that makes no progress for this long (a peer that stopped
  /// reading, or whose close cannot be written) ends the connection:
  /// on_close gets Closed{1006, std::errc::timed_out} and the transport
  /// releases its memory and descriptor. Zero: no limit.
  Duration write_stall_timeout{std::chrono::seconds(30)};
  /// Once this long passes with no bytes moved and all output written, the
  /// Connection frees its empty buffers (Connection::release_idle_buffers).
  /// Zero: never.
  Duration release_idle_buffers_after{std::chrono::seconds(1)};
  FairnessBudget fairness{};
  /// When set, the session leaves every channel of it when the connection
  /// ends. Must outlive the driver.
  ChannelMembership* registry = nullptr;
  /// Server, with a registry: the session joins the channel named by the
  /// request path when it opens.
  bool join_path_channel = false;
  /// Server: how to accept when Handler::on_upgrade is empty.
  AcceptOptions accept{};
  /// Server: whether Session::request() stays available after on_open
  /// returns. The request (target, Host, Origin, every header line) is the
  /// largest thing an idle connection holds (about 0.7 KiB for a minimal
  /// one, more with cookies); a server that reads it only in on_upgrade or
  /// on_open, or copies what it needs, sets this to false and the session
  /// frees it when on_open returns (request() is then null).
  bool keep_request = true;
  /// When set, every connection's bytes go through a layer it makes (TLS:
  /// ws::tls::server_layer, ws::tls::client_layer); the transport then
  /// moves wire bytes. Transports call make_stream_layer() and hand the
  /// result to the Driver.
  std::shared_ptr<const StreamLayerFactory> stream_layer{};
  /// Server: when set, each accepted socket is served by what it makes
  /// instead of one Driver: ws::http2::server_protocols() serves HTTP/2
  /// (ALPN "h2" over TLS, prior knowledge without) and HTTP/1.1 on one
  /// port. Transports that host it: epoll (docs/http2.md).
  std::shared_ptr<const SocketDriverFactory> socket_driver{};
};

/// The layer DriverOptions::stream_layer makes for one connection, or null
/// when it is not set. `host`: a client's server name; empty for a server.
Result<std::unique_ptr<StreamLayer>> make_stream_layer(const DriverOptions& options, Role role,
                                                       std::string_view host);

/// The Config a server should start from: the library defaults plus the
/// timers that free what a dead or silent peer holds. docs/adapters.md
/// gives the reasoning:
///   handshake_timeout  10 s, counted from the accept, so it covers the
///                      wait for the first byte of the request head;
///   keepalive_interval 30 s without input: a ping (behind nginx, whose
///                      proxy_read_timeout is 60 s, the ping keeps the
///                      proxied connection alive);
///   idle_timeout       75 s without input, not even the pong: the peer is
///                      dead, close with 1001.
Config server_config();

/// A server's options, the same on every transport (each adds its own
/// address and accept settings): the Connection's config with the server
/// defaults above, plus the driver's options.
struct ServerOptions : DriverOptions {
  Config config = server_config();
};

/// A client's options, the same on every transport.
struct ClientOptions : DriverOptions {
  Config config{};
  /// Origin, subprotocols, extra headers of the upgrade request.
  ClientHandshakeOptions handshake{};
  /// How to reach the server: null connects directly; a proxy
  /// (ws::proxy::route) connects to the proxy and tunnels through it. The
  /// Config's handshake_timeout then counts the proxy's answer too, so a
  /// proxy that never answers ends the connection as a silent server does.
  std::shared_ptr<const ClientRoute> route{};
};

/// What a client transport needs to open a connection to one URL.
struct ClientPath {
  ClientHop hop;                       // where to connect the socket
  std::unique_ptr<StreamLayer> layer;  // what to hand the Driver; may be null
};

/// The path to `url` with `options`: without a route, the URL's host and
/// port and, for wss:// only, the layer options.stream_layer makes (TLS; a
/// ws:// URL gets none even when the options carry one); with
/// options.route, the route's hop, and its layer around that one. Every
/// client transport connects through it, so each honours a route alike.
/// Errors: errc::invalid_url for wss:// without options.stream_layer (no
/// TLS to speak), the stream layer's errors, the route's.
Result<ClientPath> client_path(const ClientOptions& options, const WsUrl& url);

class Driver final : public SocketDriver {
 public:
  /// What step() tells the transport (SocketDriver::Turn).
  using Turn = SocketDriver::Turn;

  /// `connection` as made by the transport (server, accept_upgrade, client).
  /// `waker` is called from any thread when the session has work for the
  /// owner. The handler must outlive the driver. `layer`: the stream layer
  /// (make_stream_layer()); with one, every byte the transport moves is a
  /// wire byte of that layer.
  Driver(Connection connection, std::shared_ptr<const Handler> handler, DriverOptions options,
         std::shared_ptr<Waker> waker, std::unique_ptr<StreamLayer> layer = {});
  /// The same with options shared by many drivers (a server's connections):
  /// an idle connection then does not carry its own copy.
  Driver(Connection connection, std::shared_ptr<const Handler> handler,
         std::shared_ptr<const DriverOptions> options, std::shared_ptr<Waker> waker,
         std::unique_ptr<StreamLayer> layer = {});
  /// A driver destroyed before transport_closed() ends its session without
  /// callbacks (closed, out of its channels).
  ~Driver() override;
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  const SessionPtr& session() const noexcept { return session_; }
  Role role() const noexcept { return connection_.role(); }
  /// The Connection, for transports that need to look (TLS host name, ...).
  const Connection& connection() const noexcept { return connection_; }
  /// The stream layer (TLS), or null: its negotiated protocol (ALPN), its
  /// handshake state.
  const StreamLayer* stream_layer() const noexcept { return layer_.get(); }

  // ---- Bytes in ----------------------------------------------------------

  /// Whether the transport should read now: not after the end of the
  /// stream, not while paused by backpressure, not once this turn's byte
  /// budget is spent, and not once the input buffer is full.
  bool wants_read() const noexcept override;
  /// Space to read into (Connection::receive_buffer); empty when
  /// wants_read() is false.
  MutableByteView receive_buffer() override;
  void commit_received(std::size_t n) noexcept override;
  /// Bytes read elsewhere (a TLS layer, a loop-owned buffer); returns how
  /// many were taken (Connection::receive).
  std::size_t receive(ByteView bytes) override;
  /// How many bytes receive() takes now, all of them
  /// (Connection::receive_room); 0 when wants_read() is false. A transport
  /// reading into its own buffer reads at most this much.
  std::size_t receive_room() const noexcept override;
  /// The peer ended its side of the stream.
  void receive_eof() noexcept override;
  /// A read or write failed (reset, broken pipe): the stream is unusable.
  /// The Connection is told the stream ended; the connection ends at the
  /// next step().
  void transport_failed(std::error_code error) noexcept override;

  // ---- Bytes out ---------------------------------------------------------

  bool wants_write() const noexcept override;
  /// What to write, valid until the next non-const call (but see
  /// mark_output_in_flight); wire bytes when there is a stream layer.
  std::span<const OutputBuffer> pending_output() override;
  std::size_t pending_output_size() const noexcept override;
  /// The first n pending bytes were written. Updates the write-stall clock
  /// and the pause state (wants_read() may turn true).
  void consume_output(std::size_t n) noexcept override;
  /// The first n pending bytes are being written by the kernel after this
  /// call returns (an io_uring send): they stay valid and unmoved until
  /// consume_output() consumed them, whatever else runs meanwhile
  /// (Connection::mark_output_in_flight). At most one such write at a time.
  void mark_output_in_flight(std::size_t n) noexcept override;

  // ---- Work --------------------------------------------------------------

  /// Passes the time, hands pending events to the handler (at most the
  /// turn's event budget), applies what other threads asked through the
  /// Session (messages, close, abort), the slow-subscriber policy, the
  /// write-stall timeout and idle release. Starts a new turn (the byte
  /// budget is reset).
  Turn step(TimePoint now) override;
  /// When step() must run next even without I/O (keepalive, timeouts,
  /// write stall, idle release, a backpressure change to report).
  std::optional<TimePoint> next_deadline() const noexcept override;
  /// True once the transport should be closed: the close handshake is done
  /// and its bytes written, or the connection failed, timed out or was
  /// aborted. Check it after step() and after writing.
  bool should_close_transport() const noexcept override;
  /// The transport is closed (or gone): reports on_close if it is due and
  /// was not yet (with why the driver ended it: the write stall, an abort;
  /// else what the Connection makes of the end of the stream, which is
  /// errc::unexpected_eof unless the close handshake was done; when the
  /// stream layer failed, its error, with StreamLayer::error_detail() as
  /// Closed::reason),
  /// ends the session and leaves its channels. Nothing is called after it.
  void transport_closed() override;
  /// True after transport_closed().
  bool finished() const noexcept override { return finished_; }
  /// Why the connection ended: empty after a clean close handshake, else
  /// the Closed event's error (or the transport's).
  std::error_code result() const noexcept { return result_; }
  /// True once on_open was called.
  bool opened() const noexcept { return opened_; }
  /// True once after a step() that released the Connection's idle buffers
  /// (DriverOptions::release_idle_buffers_after), then false until the next
  /// release: a transport may then hand free memory back to the system.
  bool take_buffers_released() noexcept override { return std::exchange(buffers_released_, false); }

  // ---- Transport-side controls ---------------------------------------------

  /// Graceful shutdown: starts the close handshake with 1001 (a connection
  /// still in its opening handshake is dropped with
  /// std::errc::operation_canceled). Call step() after it.
  void close_going_away() override;
  /// Ends the connection now: should_close_transport() turns true and
  /// on_close (if due) reports `why`.
  void abort(std::error_code why) override;
  /// For transports whose application pulls events (an Asio async_read):
  /// while held, step() hands no event to the handler; the Connection keeps
  /// the bytes, so reading stops once its input limit is reached and the
  /// peer is pushed back. Pings are answered and a close is seen only while
  /// not held. Timers, requests from other threads and the write stall go
  /// on as usual.
  void hold_events(bool hold) noexcept { hold_events_ = hold; }
  /// A WebSocket over HTTP/2 (Connection::server_for_stream): the answer
  /// the handler's decision made, once, for the HTTP/2 layer to send
  /// (Connection::take_stream_answer). Check it after each step().
  std::optional<StreamAnswer> take_stream_answer() { return connection_.take_stream_answer(); }
  /// A client over HTTP/2 (Connection::client_for_stream): the extended
  /// CONNECT to send, once, and the answer to hand over; events follow at
  /// the next step().
  std::optional<ExtendedConnectRequest> take_stream_request() {
    return connection_.take_stream_request();
  }
  std::error_code receive_stream_response(int status, std::span<const HeaderField> fields,
                                          std::string_view body = {}) {
    return connection_.receive_stream_response(status, fields, body);
  }

  // ---- Sends of a transport's own API (an Asio async_write) ------------------
  // Owner thread. These return the Connection's errors (errc::not_open,
  // errc::output_queue_full, ...) and apply no slow-subscriber policy: the
  // caller is told through its own completion and decides. What other
  // threads queued goes first.

  std::error_code send(MessageKind kind, ByteView payload, Fin fin = Fin::yes);
  std::error_code ping(ByteView payload = {});
  /// Starts the close handshake (Connection::close's errors); a connection
  /// still in its opening handshake is dropped with
  /// std::errc::operation_canceled.
  std::error_code close(std::uint16_t code, std::string_view reason = {});
  /// Server: the error of the last accept() whose options were invalid
  /// (the peer got a 500 instead); empty otherwise.
  std::error_code accept_error() const noexcept { return accept_error_; }

  // ---- For Session -----------------------------------------------------------
  std::error_code send_direct(MessageKind kind, ByteView payload);
  std::error_code send_direct(const std::shared_ptr<const PreparedMessage>& message);
  std::error_code close_direct(std::uint16_t code, std::string_view reason);

 private:
  void pull_from_layer() noexcept;
  void push_to_layer() noexcept;
  void end_layer_stream() noexcept;
  bool layer_failed() noexcept;
  std::size_t output_backlog() const noexcept;
  void dispatch_events();
  void handle(const Event& event);
  void answer_upgrade(const UpgradeRequest& request);
  void report_closed(const Closed& closed);
  void apply_requests();
  void send_queued();
  void send_final_queued();
  void send_batch();
  std::error_code send_one(const std::shared_ptr<const PreparedMessage>& message);
  void apply_policy();
  void update_pause() noexcept;
  void note_pending() noexcept;
  void end(std::error_code why);
  void release() noexcept;

  Connection connection_;
  std::unique_ptr<StreamLayer> layer_;  // TLS, or null
  std::shared_ptr<const Handler> handler_;
  std::shared_ptr<const DriverOptions> options_;
  SessionPtr session_;
  std::vector<std::shared_ptr<const PreparedMessage>> batch_;

  TimePoint now_{};
  std::optional<TimePoint> stalled_since_;  // output waiting, no progress since
  TimePoint last_traffic_{};
  std::error_code transport_error_;
  std::error_code end_error_;  // why end() was called
  std::error_code accept_error_;
  std::error_code result_;
  std::size_t turn_bytes_ = 0;
  bool started_ = false;           // step() ran once
  bool traffic_ = false;           // bytes moved since the last step()
  bool buffers_in_use_ = false;    // bytes moved since the buffers were last released
  bool buffers_released_ = false;  // see take_buffers_released()
  bool eof_ = false;               // the read side ended
  bool paused_ = false;            // not reading: output above the pause mark
  bool pause_reported_ = false;    // what on_backpressure last said
  bool opened_ = false;            // on_open called
  bool report_close_ = false;      // on_close is due when the connection ends
  bool closed_seen_ = false;       // Closed handled (or stood in for)
  bool policy_close_sent_ = false;
  bool hold_events_ = false;         // the application takes no events now
  bool ended_ = false;               // the connection is over; close the transport
  bool finished_ = false;            // transport_closed() ran
  bool layer_stream_ended_ = false;  // the Connection was told the stream ended
  bool layer_read_ = false;          // pull_from_layer() moved bytes
};

}  // namespace ws
