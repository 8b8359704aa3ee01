// What a Connection tells the application. Events are plain values; the
// views inside them point into the Connection's own buffers and stay valid
// until the next non-const call on that Connection. Copy what you keep.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>
#include <variant>

#include "ws/base/bytes.hpp"
#include "ws/frame/close_code.hpp"

namespace ws {

enum class MessageKind : std::uint8_t { text, binary };

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
struct Closed {
  CloseCode code = CloseCode::abnormal;
  std::string_view reason{};
  std::error_code error{};
  CloseCode sent_code = CloseCode::abnormal;
};

using Event = std::variant<Message, Ping, Pong, Closed>;

}  // namespace ws
