// Error codes of the ws library: one enum, one std::error_category, and
// conditions that group the codes by who is at fault.
//
// No exception crosses the protocol API. Functions that can fail return a
// std::error_code (empty on success) or a result that carries one.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace ws {

/// Every error the library reports. Values are stable; append only.
enum class errc : int {
  // Peer violated RFC 6455 framing (the connection fails with 1002).
  reserved_bits_set = 1,
  reserved_opcode,
  control_frame_fragmented,
  control_frame_too_long,
  unexpected_continuation,
  message_not_finished,
  mask_required,
  mask_forbidden,
  non_minimal_length,
  length_high_bit_set,
  invalid_close_payload,
  invalid_close_code,
  invalid_close_reason,
  // Peer sent text that is not UTF-8 (1007).
  invalid_utf8,
  // Peer exceeded a configured limit (1009).
  frame_too_large,
  message_too_large,
  // Transport and time (reported as 1006, never sent).
  unexpected_eof,
  close_timeout,
  handshake_timeout,
  idle_timeout,
  // Application misuse: the call fails, the connection is untouched.
  not_open,
  control_payload_too_long,
  close_code_not_sendable,
  close_reason_too_long,
  output_queue_full,
  no_message_in_progress,
  message_in_progress,
  wrong_role,
  // HTTP head parsing (opening handshake).
  head_too_large,
  too_many_headers,
  malformed_request_line,
  malformed_status_line,
  malformed_header,
  obsolete_line_folding,
  unsupported_http_version,
  // Server-side handshake validation.
  method_not_get,
  missing_host,
  missing_upgrade_websocket,
  missing_connection_upgrade,
  missing_key,
  invalid_key,
  duplicate_key,
  unsupported_websocket_version,
  rejected_by_application,
  // Client-side handshake validation.
  invalid_url,
  unexpected_status,
  missing_accept,
  accept_mismatch,
  unexpected_subprotocol,
  unexpected_extension,
  // Peer sent a request body or other bytes the handshake cannot take.
  unexpected_handshake_data,
  // The extension that claimed a frame could not process it (1002 or 1007
  // depending on the extension; the extension chooses).
  extension_failed,
  // Application misuse: close() with a reason that is not UTF-8.
  close_reason_not_utf8,
  // Application misuse: a header, status or token it gave for a handshake
  // message is not valid HTTP (it would break the message or inject lines).
  invalid_handshake_option,
  // The connection ended with a clean close handshake: an adapter's read
  // that waited for a message gets this. Not a failure.
  connection_closed,
  // Server with Config::serve_plain_http: the request was not an upgrade and
  // the application answered it as plain HTTP (the Closed event's error).
  answered_as_http,
  // Client: the server agreed to an extension with parameters that are
  // unknown, repeated, invalid or not allowed by the offer (RFC 7692 5),
  // or named the same extension twice.
  invalid_extension_response,
  // Server, a handshake carried by an HTTP/2 extended CONNECT (RFC 8441):
  // :method is not CONNECT; :protocol is absent or not "websocket"; :scheme,
  // :path or :authority is absent, empty or malformed.
  method_not_connect,
  missing_protocol_websocket,
  invalid_pseudo_header,
};

/// Groups of errors, to test "what kind of failure" without listing codes.
enum class condition : int {
  protocol_violation = 1,  // the peer broke RFC 6455 (1002 or 1007)
  limit_exceeded,          // the peer exceeded a configured limit (1009)
  transport_failure,       // end of stream or timeout (1006)
  misuse,                  // the application called the API wrongly
  handshake_failed,        // the opening handshake did not complete
};

const std::error_category& error_category() noexcept;
const std::error_category& condition_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}
inline std::error_condition make_error_condition(condition c) noexcept {
  return {static_cast<int>(c), condition_category()};
}

}  // namespace ws

namespace std {
template <>
struct is_error_code_enum<ws::errc> : true_type {};
template <>
struct is_error_condition_enum<ws::condition> : true_type {};
}  // namespace std
