// ws::Connection: one WebSocket connection as a pure state machine.
//
// It owns no socket, thread or clock. The caller
//   - hands it received bytes (receive, or receive_buffer + commit_received)
//     and the end of the stream (receive_eof),
//   - pulls events (next_event) until it returns nothing,
//   - writes pending_output() to the transport and reports what was written
//     (consume_output),
//   - passes the time (advance_time) at next_deadline() at the latest,
//   - closes the transport when should_close_transport() says so.
// docs/protocol.md shows the loop.
//
// Errors: no exception leaves this API except std::bad_alloc. Protocol
// violations by the peer end in a Closed event carrying the error (and the
// close frame with the right code is queued); misuse by the application
// returns an error code and leaves the connection as it was.
//
// Thread safety: none. One thread at a time owns a Connection; adapters that
// let other threads send do so by queueing to the owner.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/base/error.hpp"
#include "ws/base/result.hpp"
#include "ws/config.hpp"
#include "ws/connection_state.hpp"
#include "ws/event.hpp"
#include "ws/frame/close_code.hpp"
#include "ws/handshake/client_handshake.hpp"
#include "ws/handshake/server_handshake.hpp"
#include "ws/message/prepared_message.hpp"
#include "ws/output_buffer.hpp"

namespace ws {

/// Whether a send ends the message (Fin::yes) or more fragments follow.
enum class Fin : bool { no = false, yes = true };

/// The answer to an extended CONNECT (RFC 8441), made by accept() or reject()
/// on a Connection::server_for_stream(), for the HTTP/2 layer to send: a
/// HEADERS frame with :status and `fields`, then `body` as DATA.
struct StreamAnswer {
  int status = 200;                 // 200 when accepted (RFC 8441 5)
  std::vector<HeaderField> fields;  // names in lower case (RFC 9113 8.2.1)
  std::string body;                 // a rejection's body; empty when accepted
};

class Connection {
 public:
  // ---- Creating --------------------------------------------------------

  /// A server that reads the upgrade request from the bytes it receives.
  /// It emits UpgradeRequested for a valid request (answer with accept() or
  /// reject()), or answers an invalid one itself (400, 426 with
  /// Sec-WebSocket-Version: 13, 431) and ends with a Closed event whose error
  /// has condition::handshake_failed.
  static Connection server(const Config& config = {});
  /// The same with a Config shared by many connections (a server's): each
  /// keeps a pointer instead of its own copy. The Config must not change
  /// while a connection uses it; a server never calls its random source.
  /// A null pointer means the default Config.
  static Connection server(std::shared_ptr<const Config> config);

  /// A server for a request head the application already read (its own HTTP
  /// server saw is_upgrade() be true). `request_head` is the head up to and
  /// including the empty line; `bytes_after_head` are bytes read past it:
  /// they are the first frame bytes, not a body, and are all kept even past
  /// Limits::max_buffered_input. The 101 response is queued and the first
  /// event is Opened. Errors: the head's parse or validation error (answer it
  /// with build_error_response(error)), or build_accept_response's.
  static Result<Connection> accept_upgrade(std::string_view request_head, ByteView bytes_after_head,
                                           const AcceptOptions& options = {},
                                           const Config& config = {});
  /// The same for a request the application has already validated.
  static Result<Connection> accept_upgrade(const UpgradeRequest& request, ByteView bytes_after_head,
                                           const AcceptOptions& options = {},
                                           const Config& config = {});

  /// A server for a WebSocket carried by one stream of an HTTP/2 connection
  /// (RFC 8441): the HTTP/2 layer received an extended CONNECT and hands over
  /// what it read. The first event is UpgradeRequested, as for server(), with
  /// the request's carriage HandshakeCarriage::http2_extended_connect, so
  /// the same handler serves both. accept() and reject() then queue no HTTP
  /// bytes: the HTTP/2 layer takes the answer with take_stream_answer() and
  /// sends it. Once accepted, the stream's DATA carry the frames: receive()
  /// takes what arrived, pending_output() gives what to send, and the end of
  /// the stream is receive_eof(), all as over HTTP/1.1. A null `config` means
  /// the default Config. The handshake timeout runs as over HTTP/1.1: a
  /// connection that closes with no answer to take (the timeout, or the
  /// stream's end, before accept() or reject()) has nothing to send, and the
  /// HTTP/2 layer resets the stream. should_close_transport() waits until a
  /// rejection's answer was taken. Errors: too_many_headers or
  /// head_too_large past Config::http_limits (each field counted with 32
  /// bytes of overhead, as HPACK counts), then validate_extended_connect()'s;
  /// the HTTP/2 layer answers them with http_status_for(error).
  static Result<Connection> server_for_stream(const ExtendedConnectRequest& request,
                                              std::shared_ptr<const Config> config = nullptr);

  /// A client for `url` (ws:// or wss://; TLS is the transport's business).
  /// The upgrade request is queued at once with a fresh key from
  /// Config::random. The first event is Opened, or Rejected then Closed when
  /// the server answers with another status, or Closed with the validation
  /// error (errc::accept_mismatch, errc::unexpected_subprotocol, ...).
  /// Errors: errc::invalid_url.
  static Result<Connection> client(std::string_view url, const ClientHandshakeOptions& options = {},
                                   const Config& config = {});

  /// A client for a WebSocket carried by one stream of an HTTP/2 connection
  /// (RFC 8441): the HTTP/2 layer takes the extended CONNECT to send with
  /// take_stream_request() (make_client_connect(): the same options and
  /// checks as client(), no key) and, when its answer arrives, hands it
  /// over with receive_stream_response(). The first event is then Opened
  /// (a 2xx whose subprotocol and extensions check out), or Rejected then
  /// Closed (another status), or Closed with the validation error; the end
  /// of the stream before an answer is Closed with errc::unexpected_eof.
  /// Once open, the stream's DATA carry the frames (masked, as over
  /// HTTP/1.1): receive(), pending_output(), receive_eof() as for client().
  /// Errors: errc::invalid_url, invalid_handshake_option.
  static Result<Connection> client_for_stream(std::string_view url,
                                              const ClientHandshakeOptions& options = {},
                                              const Config& config = {});

  /// A connection whose opening handshake was done elsewhere (for example by
  /// an HTTP server that answered the upgrade itself). It starts open.
  static Connection after_handshake(Role role, const Config& config = {});

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  Role role() const noexcept;
  State state() const noexcept;
  const Config& config() const noexcept;

  // ---- Opening handshake ----------------------------------------------------

  /// Server, after UpgradeRequested: sends the 101 response; Opened follows.
  /// On a server_for_stream() the answer is a StreamAnswer with status 200
  /// and no Sec-WebSocket-Accept (RFC 8441 5), built by
  /// build_connect_response(). errc::not_open when no request is waiting for
  /// an answer; errors of build_accept_response (build_connect_response)
  /// leave the request waiting.
  std::error_code accept(const AcceptOptions& options = {});
  /// Server, after UpgradeRequested: answers with `status` (a 4xx or 5xx,
  /// say), `body` and extra headers, and ends with Closed
  /// (errc::rejected_by_application). After HttpRequested it is the plain
  /// HTTP answer (any status from 200 on; errc::answered_as_http). On a
  /// server_for_stream() the answer is a StreamAnswer (status 300-599: a 2xx
  /// would open the WebSocket, RFC 8441 5; header names lower-cased,
  /// content-type text/plain; charset=utf-8 unless given), errors as for
  /// build_rejection_response(), and invalid_handshake_option for a field
  /// HTTP/2 forbids (Connection, Keep-Alive, Upgrade, TE..., RFC 9113 8.2.2).
  std::error_code reject(int status, std::string_view body = {},
                         std::span<const HeaderField> headers = {});
  /// Server over HTTP/2 (server_for_stream()): the answer accept() or
  /// reject() made, once; nothing before that, after it was taken, or on a
  /// connection of another kind.
  std::optional<StreamAnswer> take_stream_answer();
  /// Client over HTTP/2 (client_for_stream()): the extended CONNECT to send,
  /// once; nothing after it was taken or on a connection of another kind.
  std::optional<ExtendedConnectRequest> take_stream_request();
  /// Client over HTTP/2: the answer to the extended CONNECT, `fields`
  /// without :status, names in lower case. For a 2xx call it when the
  /// HEADERS arrive; for another status the body may come along (what the
  /// HTTP/2 layer collected up to END_STREAM). errc::not_open on another
  /// kind of connection, after an answer was given, or once the handshake
  /// ended.
  std::error_code receive_stream_response(int status, std::span<const HeaderField> fields,
                                          std::string_view body = {});
  /// Server: the upgrade request (target, path, query, Origin, headers,
  /// offered subprotocols), once it has arrived; null before. Lives as long
  /// as the Connection, or until release_request().
  const UpgradeRequest* request() const noexcept;
  /// Server: frees the stored upgrade request (about a kilobyte of strings)
  /// once the application has what it needs of it, for example an adapter
  /// that kept its own copy. request() is null afterwards; subprotocol() and
  /// extensions() stay. Does nothing while UpgradeRequested awaits an answer
  /// (or, on a server_for_stream(), has yet to announce the request).
  void release_request() noexcept;
  /// The agreed subprotocol and extensions; empty before Opened or when none.
  std::string_view subprotocol() const noexcept;
  std::string_view extensions() const noexcept;

  // ---- Receiving ----------------------------------------------------------

  /// Copies as many of `bytes` as the input limit allows and returns how many
  /// it took; the caller keeps the rest and offers it again after draining
  /// next_event(). Once the connection is closed every byte is taken and
  /// dropped. The payload of a large data frame (4 KiB or more, or at least
  /// max_buffered_input if that is smaller) that arrives while nothing is
  /// buffered is copied straight into the message being joined, unmasked on
  /// the way; such bytes count against the input limit until next_event()
  /// runs, so one call never takes more than the limit.
  std::size_t receive(ByteView bytes);

  /// Space for a read straight into the connection (zero copies): free space
  /// at the end of the input buffer or, while a large data frame's payload
  /// is awaited in whole-message mode, the rest of that payload's place in
  /// the message buffer (never past the frame's end). Empty when the input
  /// limit is reached: drain next_event() first. Valid until the next
  /// non-const call.
  ///
  /// The space is sized to the traffic: at least the rest of the frame in
  /// progress and the next frame's header (so a message that fits the input
  /// limit costs one read), and twice as much as before after a read filled
  /// all it was offered; never more than the input limit allows.
  MutableByteView receive_buffer();
  /// Marks the first n bytes of the last receive_buffer() as received.
  void commit_received(std::size_t n) noexcept;
  /// How many bytes receive() would take now, all of them: for a transport
  /// that reads into its own buffer (one per event loop) and must not read
  /// more than the connection keeps. 0 when the input limit is reached:
  /// drain next_event() first. Once the connection is closed, any amount.
  std::size_t receive_room() const noexcept;

  /// The transport's read side ended. Buffered bytes are still processed.
  void receive_eof() noexcept;

  /// The next event, or nothing when more input (or time) is needed. Views
  /// in the event stay valid until the next non-const call.
  std::optional<Event> next_event();

  // ---- Sending -----------------------------------------------------------
  // Each returns an empty error_code when the frame(s) were queued, or:
  //   errc::not_open                  - handshake not done, or close already sent/received
  //   errc::output_queue_full         - Limits::max_queued_output would be exceeded
  //   errc::message_in_progress       - a streamed message of the other kind is open
  // Payloads are copied (masked for a client) into the output queue.

  /// Text must be UTF-8; it is not checked on the way out.
  std::error_code send_text(std::string_view text, Fin fin = Fin::yes);
  std::error_code send_binary(ByteView data, Fin fin = Fin::yes);
  /// Queues a reference to a frame framed once for many connections.
  /// errc::wrong_role for a client (its frames need a fresh mask each);
  /// errc::message_in_progress while a streamed message is open. On a
  /// connection that agreed a compressing extension (Config::extension) a
  /// message the extension wants to encode is compressed for this
  /// connection instead, and copied.
  std::error_code send_prepared(std::shared_ptr<const PreparedMessage> message);
  /// errc::control_payload_too_long above 125 bytes.
  std::error_code ping(ByteView payload = {});
  /// An unsolicited pong (a heartbeat that expects no answer; RFC 6455 5.5.3).
  std::error_code pong(ByteView payload = {});
  /// Starts the close handshake. errc::close_code_not_sendable for codes that
  /// may not appear on the wire (1004-1006, 1015, below 1000, ...),
  /// errc::close_reason_too_long above 123 bytes, errc::close_reason_not_utf8.
  std::error_code close(CloseCode code = CloseCode::normal, std::string_view reason = {});
  std::error_code close(std::uint16_t code, std::string_view reason = {});

  // ---- Output -----------------------------------------------------------

  /// The bytes to write, in order, as a scatter-gather list. The list and
  /// the bytes are valid until the next non-const call, except bytes marked
  /// with mark_output_in_flight().
  std::span<const OutputBuffer> pending_output();
  /// Total bytes in pending_output().
  std::size_t pending_output_size() const noexcept;
  /// For a transport whose write reads the bytes after this call returns
  /// (an io_uring send): the first n pending bytes were handed to such a
  /// write. Until consume_output() consumes them they stay valid and where
  /// pending_output() showed them, whatever else is queued meanwhile, and
  /// no ping or pong is queued ahead of them. A later call replaces the mark
  /// (n is clamped to pending_output_size()).
  void mark_output_in_flight(std::size_t n) noexcept;
  /// The first n pending bytes were written.
  void consume_output(std::size_t n) noexcept;
  /// True once the transport should be closed: the connection is closed and
  /// its last bytes were consumed. A server closes first (RFC 6455 7.1.1); a
  /// client after a clean close waits for the server's end of stream or the
  /// close timeout.
  bool should_close_transport() const noexcept;

  // ---- Memory ------------------------------------------------------------

  /// Frees the buffers that hold nothing now: the input buffer when every
  /// byte received was parsed, the message buffer when no message is being
  /// joined, the output queue when all output was consumed. Each is
  /// allocated again when next needed. An adapter calls it once a connection
  /// has gone idle (the socket drained, all output written, no input for a
  /// while: the epoll adapter waits a second), so that an idle connection
  /// holds little more than its own object. Calling it after every read
  /// would re-allocate the buffers for every message. Views from earlier
  /// events die with it. Does nothing during the opening handshake.
  void release_idle_buffers() noexcept;

  // ---- Time ---------------------------------------------------------------

  /// Tells the connection the time. Input received since the previous call
  /// counts as received now, and a close sent or received since then starts
  /// its close_timeout now. Fires due keepalive pings and timeouts (a
  /// timeout queues a Closed event).
  void advance_time(TimePoint now);
  /// When advance_time must be called next, if any timer is running. Right
  /// after a close it is the time last given (a time already past), so that
  /// the next advance_time starts the close wait.
  std::optional<TimePoint> next_deadline() const noexcept;

 private:
  struct Impl;
  explicit Connection(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ws
