// What a Connection tells the application. Events are plain values; the
// views inside them point into the Connection's own buffers and stay valid
// until the next non-const call on that Connection. Copy what you keep.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>
#include <variant>

#include "ws/base/bytes.hpp"
#include "ws/frame/close_code.hpp"
#include "ws/handshake/http_head.hpp"
#include "ws/handshake/server_handshake.hpp"
#include "ws/message/message_kind.hpp"

namespace ws {

/// A data message, or with Delivery::streamed a piece of one. In whole-message
/// mode is_first and is_last are both true. Text is valid UTF-8: whole
/// messages entirely, streamed pieces up to a code point that may continue in
/// the next piece.
struct Message {
  MessageKind kind = MessageKind::binary;
  ByteView payload{};
  bool is_first = true;
  bool is_last = true;

  std::string_view text() const noexcept { return as_text(payload); }
};

/// A ping arrived. With Config::auto_pong the pong is already queued.
struct Ping {
  ByteView payload{};
};

/// A pong arrived (solicited or not; RFC 6455 5.5.3 allows both).
struct Pong {
  ByteView payload{};
};

/// The connection is over: no further events follow, and sends fail.
/// After a clean close handshake `error` is empty and `code`/`reason` are what
/// the peer sent (CloseCode::no_status when its close frame had no code).
/// Otherwise `error` says what went wrong (a protocol violation by the peer,
/// a limit, end of stream, a timeout), `code` is CloseCode::abnormal unless
/// the peer's close frame had arrived, and `sent_code` is the code this side
/// sent when it failed the connection (CloseCode::abnormal when it sent none).
/// The adapter learns when to close the transport from
/// Connection::should_close_transport().
/// `reason` is valid during the callback or until the next call into the
/// Connection only: copy it to keep it. It holds at most 123 bytes when it
/// came in a close frame; when a transport's stream layer failed before any
/// close frame (a proxy that refused the tunnel), the Driver puts that
/// layer's own words there (StreamLayer::error_detail), which may be longer.
struct Closed {
  CloseCode code = CloseCode::abnormal;
  std::string_view reason{};
  std::error_code error{};
  CloseCode sent_code = CloseCode::abnormal;
};

/// Server: a valid upgrade request arrived. Answer it with
/// Connection::accept() or Connection::reject(); until then no further event
/// comes. `request` points into the Connection and lives as long as it.
struct UpgradeRequested {
  const UpgradeRequest* request = nullptr;
};

/// The opening handshake completed; data may flow. `subprotocol` is the one
/// agreed (empty when none), `extensions` the Sec-WebSocket-Extensions value
/// agreed (empty when none). Both view strings the Connection keeps for its
/// whole life.
struct Opened {
  std::string_view subprotocol{};
  std::string_view extensions{};
};

/// Client: the server answered the upgrade with another status (a 401 asking
/// for credentials, a 302 with Location, ...). `body` is the response's
/// body as HTTP delimits it (RFC 9112 6.3): decoded from the chunked
/// transfer coding, or up to Content-Length, or (with neither) up to the end
/// of the stream. The event comes once the body is complete; earlier when
/// the stream ends, a chunked body is malformed or the body fills
/// Limits::max_buffered_input, with `body` holding what arrived (for a
/// chunked one, the data decoded so far). A Closed event with
/// errc::unexpected_status follows.
struct Rejected {
  int status = 0;
  std::string_view reason{};
  std::span<const HttpHeader> headers{};
  ByteView body{};
};

/// Server with Config::serve_plain_http: a request that is not a WebSocket
/// upgrade. Answer it with Connection::reject(status, body, headers); the
/// connection then ends (Closed with errc::answered_as_http) once the answer
/// is written. `head` lives until the next call.
struct HttpRequested {
  const HttpHead* head = nullptr;
};

using Event =
    std::variant<Message, Ping, Pong, Closed, UpgradeRequested, Opened, Rejected, HttpRequested>;

}  // namespace ws
