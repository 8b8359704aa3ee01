// ws::asio::Stream: a WebSocket connection over an Asio socket, with
// asynchronous operations that take any Asio completion token (a callback,
// asio::use_awaitable, ...). TcpStream is ws:// (this header); TlsStream is
// wss:// (ws/asio/tls.hpp). docs/adapters.md has examples.
//
// Threading contract:
//   - All work runs on the socket's executor. With an io_context run by
//     several threads, give the socket a strand (asio::make_strand) so the
//     executor serialises.
//   - Start operations and use the accessors on that executor (from its
//     handlers or coroutines; or from any thread while it does not run).
//     Every async_* only posts its work, so none completes inside the call.
//     (Started from one of this stream's own completion handlers, it skips
//     the post: the stream runs it as soon as that handler returns, so a
//     read loop takes every message already received without a round trip
//     through the executor.)
//   - At most one async_read at a time (a second fails with
//     std::errc::operation_in_progress). Writes (async_write*, async_ping)
//     queue: up to StreamOptions::max_queued_writes may wait at once, the
//     next fails with ws::errc::output_queue_full.
//   - Other threads send through session() (a ws::Session, thread-safe),
//     never through the Stream itself.
//   - The Stream may be destroyed with operations pending: the connection is
//     dropped and they complete with std::errc::operation_canceled.
//
// Reading drives the protocol: pings are answered, and the peer's close is
// seen, while an async_read (or async_close) is pending. Between reads the
// peer's data waits in the socket, so reading slowly pushes back on a
// sender.
#pragma once

#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "ws/asio/detail/completion.hpp"
#include "ws/asio/detail/transport.hpp"
#include "ws/asio/options.hpp"
#include "ws/asio/session.hpp"

namespace ws::asio {

namespace detail {

/// Which engine drives a NextLayer: TcpEngine for tcp::socket, TlsEngine
/// (tls.hpp) for ssl::stream<tcp::socket>. Other layers are not supported.
template <class NextLayer>
struct EngineFor;
template <>
struct EngineFor<::asio::ip::tcp::socket> {
  using type = TcpEngine;
};

/// Initiates an operation: wraps the handler and posts `start` to the
/// engine's executor.
template <class EngineT, bool WithKind>
struct Initiation {
  std::shared_ptr<EngineT> engine;

  template <class Handler, class Start>
  void operator()(Handler&& handler, Start start) const {
    const ::asio::any_io_executor& executor = engine->get_executor();
    CompletionPtr done = make_completion<WithKind>(std::forward<Handler>(handler), executor);
    if (engine->in_own_handlers()) {
      // Started by one of the engine's own handlers: the engine runs it once
      // that handler returns, so it still does not complete inside the call.
      start(*engine, std::move(done));
      return;
    }
    ::asio::post(executor, [engine = engine, start = std::move(start),
                            done = std::move(done)]() mutable { start(*engine, std::move(done)); });
  }
};

}  // namespace detail

template <class NextLayer>
class Stream {
  using EngineType = typename detail::EngineFor<NextLayer>::type;
  using VoidSignature = void(std::error_code);
  using ReadSignature = void(std::error_code, MessageKind);

 public:
  using next_layer_type = NextLayer;
  using executor_type = ::asio::any_io_executor;

  /// Takes the socket: connected (and, for TLS, with or without its TLS
  /// handshake done: the Stream does it when it was not).
  explicit Stream(NextLayer next_layer, StreamOptions options = {})
      : engine_(std::make_shared<EngineType>(std::move(next_layer), std::move(options))) {}

  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&& other) noexcept {
    if (this != &other) {
      drop();
      engine_ = std::move(other.engine_);
    }
    return *this;
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { drop(); }

  executor_type get_executor() const { return engine_->get_executor(); }
  /// The socket, to connect it or set options before the handshake. Do no
  /// I/O on it once the Stream has started.
  NextLayer& next_layer() noexcept { return engine_->next_layer(); }

  // ---- Opening handshake ----------------------------------------------------

  /// Server: reads the upgrade request and accepts it (default
  /// AcceptOptions). Completes with void(std::error_code) once the 101
  /// response is queued, or with the failure: an invalid request (answered
  /// with 400/426/431 by the connection), a transport error, or
  /// errc::handshake_timeout.
  template <class Token>
  auto async_accept(Token&& token) {
    return async_accept(AcceptHandler{}, std::forward<Token>(token));
  }
  /// Server: as above, and `decide` answers the valid request (accept with
  /// options, or reject: the handshake then fails with
  /// errc::rejected_by_application after the response is sent).
  template <class Token>
  auto async_accept(AcceptHandler decide, Token&& token) {
    return async_accept(std::move(decide), HttpHandler{}, std::forward<Token>(token));
  }
  /// Server on a port that also serves plain HTTP: as above, and a request
  /// that is not an upgrade is answered with `http(head)` (when `http` is
  /// set; else with 400). The handshake then fails with
  /// errc::answered_as_http once the answer is written and the connection
  /// ends: one answer per connection.
  template <class Token>
  auto async_accept(AcceptHandler decide, HttpHandler http, Token&& token) {
    const std::error_code prepared = engine_->prepare_accept(std::move(decide), std::move(http));
    return initiate<VoidSignature>(std::forward<Token>(token),
                                   [prepared](EngineType& engine, detail::CompletionPtr done) {
                                     engine.start_opening(prepared, std::move(done));
                                   });
  }
  /// Server, for a request the application's HTTP code already read
  /// (ws::is_upgrade(request_head) is true): `request_head` up to and with
  /// the empty line, `bytes_after_head` the bytes read past it. Both are
  /// copied. An invalid request is answered with its error response and
  /// the handshake fails with the validation error.
  template <class Token>
  auto async_accept(std::string_view request_head, ByteView bytes_after_head, AcceptOptions options,
                    Token&& token) {
    const std::error_code prepared =
        engine_->prepare_accept_upgrade(request_head, bytes_after_head, options);
    return initiate<VoidSignature>(std::forward<Token>(token),
                                   [prepared](EngineType& engine, detail::CompletionPtr done) {
                                     engine.start_opening(prepared, std::move(done));
                                   });
  }

  /// Client: sends the upgrade request for `url` (ws:// or wss://; the
  /// socket is connected to its host already) and validates the answer.
  /// Errors: errc::invalid_url, errc::unexpected_status (see
  /// rejection_status()), errc::accept_mismatch ..., transport errors.
  template <class Token>
  auto async_handshake(std::string_view url, Token&& token) {
    return async_handshake(url, ClientHandshakeOptions{}, std::forward<Token>(token));
  }
  template <class Token>
  auto async_handshake(std::string_view url, ClientHandshakeOptions options, Token&& token) {
    const std::error_code prepared = engine_->prepare_handshake(url, options);
    return initiate<VoidSignature>(std::forward<Token>(token),
                                   [prepared](EngineType& engine, detail::CompletionPtr done) {
                                     engine.start_opening(prepared, std::move(done));
                                   });
  }

  // ---- Messages ---------------------------------------------------------------

  /// Reads the next whole message into `payload` (replacing its contents;
  /// binary bytes are stored as chars) and completes with
  /// void(std::error_code, MessageKind). `payload` must live until then.
  /// When the connection ends the error is errc::connection_closed after a
  /// clean close handshake, or what went wrong (errc::unexpected_eof, a
  /// protocol error, std::errc::timed_out ...); close_info() has the details.
  template <class Token>
  auto async_read(std::string& payload, Token&& token) {
    return initiate<ReadSignature>(
        std::forward<Token>(token),
        [out = &payload](EngineType& engine, detail::CompletionPtr done) {
          engine.start_read(out, std::move(done));
        });
  }

  /// Queues a message; completes with void(std::error_code) once its bytes
  /// went to the layer below (counted in bytes: a pong may overtake it).
  /// `payload` must live until then. Errors: errc::output_queue_full,
  /// errc::not_open, the transport's error.
  template <class Token>
  auto async_write(MessageKind kind, ByteView payload, Token&& token) {
    return initiate<VoidSignature>(std::forward<Token>(token),
                                   [kind, payload](EngineType& engine, detail::CompletionPtr done) {
                                     engine.start_write(kind, payload, std::move(done));
                                   });
  }
  template <class Token>
  auto async_write_text(std::string_view text, Token&& token) {
    return async_write(MessageKind::text, as_bytes(text), std::forward<Token>(token));
  }
  template <class Token>
  auto async_write_binary(ByteView data, Token&& token) {
    return async_write(MessageKind::binary, data, std::forward<Token>(token));
  }

  /// Sends a ping (payload up to 125 bytes, copied); completes when it is
  /// written. The pong shows up in the control callback during a read.
  template <class Token>
  auto async_ping(ByteView payload, Token&& token) {
    return initiate<VoidSignature>(
        std::forward<Token>(token),
        [payload = std::vector<std::byte>(payload.begin(), payload.end())](
            EngineType& engine, detail::CompletionPtr done) {
          engine.start_ping(payload, std::move(done));
        });
  }
  template <class Token>
  auto async_ping(Token&& token) {
    return async_ping(ByteView{}, std::forward<Token>(token));
  }

  /// Starts the close handshake (or joins the one under way) and completes
  /// when the socket is closed: with an empty error after a clean close
  /// handshake, else with what went wrong. Messages that arrive meanwhile
  /// go to a pending async_read, or are dropped.
  template <class Token>
  auto async_close(CloseCode code, std::string_view reason, Token&& token) {
    return initiate<VoidSignature>(
        std::forward<Token>(token),
        [code, reason = std::string(reason)](EngineType& engine, detail::CompletionPtr done) {
          engine.start_close(code, reason, std::move(done));
        });
  }
  template <class Token>
  auto async_close(CloseCode code, Token&& token) {
    return async_close(code, std::string_view{}, std::forward<Token>(token));
  }

  // ---- State (on the executor) ------------------------------------------------

  /// The thread-safe handle other threads and channels use (the driver's
  /// ws::Session); null until async_accept or async_handshake was called.
  SessionPtr session() const { return engine_->session(); }
  /// True between a completed handshake and the start of the close.
  bool is_open() const noexcept { return engine_->is_open(); }
  /// How the connection ended (meaningful once an operation reported it).
  const CloseInfo& close_info() const noexcept { return engine_->close_info(); }
  /// Server: the upgrade request, once read; null before.
  const UpgradeRequest* request() const noexcept { return engine_->request(); }
  /// The agreed subprotocol; empty when none.
  std::string_view subprotocol() const noexcept { return engine_->subprotocol(); }
  /// Client: the status of a non-101 answer (errc::unexpected_status); 0 otherwise.
  int rejection_status() const noexcept { return engine_->rejection_status(); }
  /// Sees pings and pongs from the peer (see ControlCallback).
  void set_control_callback(ControlCallback callback) {
    engine_->set_control_callback(std::move(callback));
  }

 private:
  template <class Signature, class Token, class Start>
  auto initiate(Token&& token, Start start) {
    constexpr bool with_kind = std::is_same_v<Signature, ReadSignature>;
    return ::asio::async_initiate<Token, Signature>(
        detail::Initiation<EngineType, with_kind>{engine_}, token, std::move(start));
  }

  void drop() {
    if (engine_) std::exchange(engine_, nullptr)->abandon();
  }

  std::shared_ptr<EngineType> engine_;
};

/// ws:// over TCP.
using TcpStream = Stream<::asio::ip::tcp::socket>;

}  // namespace ws::asio
