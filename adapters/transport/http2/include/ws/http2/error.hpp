// Errors of ws::http2: one enum and its std::error_category ("ws.http2"),
// reported to a WebSocket's on_close when its HTTP/2 carriage failed it.
#pragma once

#include <system_error>
#include <type_traits>

namespace ws::http2 {

/// Values are stable; append only.
enum class errc : int {
  // Client: TLS did not choose "h2" by ALPN (the server speaks only
  // HTTP/1.1 there).
  not_negotiated = 1,
  // Client: the server's SETTINGS lack SETTINGS_ENABLE_CONNECT_PROTOCOL
  // (RFC 8441 3): it takes no WebSockets over HTTP/2.
  extended_connect_unsupported,
  // The server refused the stream (REFUSED_STREAM, or a GOAWAY that left
  // it out): nothing was processed, it may be tried again.
  stream_refused,
  // The HTTP/2 connection failed (a protocol error, a GOAWAY with an
  // error, a limit reached) with the WebSocket still on it.
  connection_failed,
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc error) noexcept {
  return {static_cast<int>(error), error_category()};
}

}  // namespace ws::http2

namespace std {
template <>
struct is_error_code_enum<ws::http2::errc> : true_type {};
}  // namespace std
