#include "ws/base/error.hpp"

namespace ws {
namespace {

class ErrorCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ws"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::reserved_bits_set:
        return "reserved bits set without a negotiated extension";
      case errc::reserved_opcode:
        return "reserved opcode";
      case errc::control_frame_fragmented:
        return "control frame without FIN";
      case errc::control_frame_too_long:
        return "control frame payload over 125 bytes";
      case errc::unexpected_continuation:
        return "continuation frame without a message in progress";
      case errc::message_not_finished:
        return "new data frame while a fragmented message is open";
      case errc::mask_required:
        return "client frame not masked";
      case errc::mask_forbidden:
        return "server frame masked";
      case errc::non_minimal_length:
        return "payload length not in its shortest form";
      case errc::length_high_bit_set:
        return "64-bit payload length with the high bit set";
      case errc::invalid_close_payload:
        return "close payload of one byte";
      case errc::invalid_close_code:
        return "close code not allowed on the wire";
      case errc::invalid_close_reason:
        return "close reason is not UTF-8";
      case errc::invalid_utf8:
        return "text is not UTF-8";
      case errc::frame_too_large:
        return "frame larger than the configured maximum";
      case errc::message_too_large:
        return "message larger than the configured maximum";
      case errc::unexpected_eof:
        return "end of stream before the close handshake";
      case errc::close_timeout:
        return "close handshake timed out";
      case errc::handshake_timeout:
        return "opening handshake timed out";
      case errc::idle_timeout:
        return "connection idle for too long";
      case errc::not_open:
        return "connection is not open for sending";
      case errc::control_payload_too_long:
        return "control payload over 125 bytes";
      case errc::close_code_not_sendable:
        return "close code may not be sent";
      case errc::close_reason_too_long:
        return "close reason over 123 bytes";
      case errc::output_queue_full:
        return "queued output would exceed the configured maximum";
      case errc::no_message_in_progress:
        return "no streamed message in progress";
      case errc::message_in_progress:
        return "a streamed message is in progress";
      case errc::wrong_role:
        return "operation not available in this role";
      case errc::head_too_large:
        return "HTTP head larger than the configured maximum";
      case errc::too_many_headers:
        return "more HTTP header lines than the configured maximum";
      case errc::malformed_request_line:
        return "malformed HTTP request line";
      case errc::malformed_status_line:
        return "malformed HTTP status line";
      case errc::malformed_header:
        return "malformed HTTP header line";
      case errc::obsolete_line_folding:
        return "obsolete HTTP line folding";
      case errc::unsupported_http_version:
        return "HTTP version below 1.1";
      case errc::method_not_get:
        return "upgrade request method is not GET";
      case errc::missing_host:
        return "upgrade request has no Host header";
      case errc::missing_upgrade_websocket:
        return "Upgrade header lacks the websocket token";
      case errc::missing_connection_upgrade:
        return "Connection header lacks the upgrade token";
      case errc::missing_key:
        return "Sec-WebSocket-Key missing";
      case errc::invalid_key:
        return "Sec-WebSocket-Key is not 16 bytes in base64";
      case errc::duplicate_key:
        return "Sec-WebSocket-Key given more than once";
      case errc::unsupported_websocket_version:
        return "Sec-WebSocket-Version is not 13";
      case errc::rejected_by_application:
        return "upgrade rejected by the application";
      case errc::invalid_url:
        return "invalid WebSocket URL";
      case errc::unexpected_status:
        return "server answered with a status other than 101";
      case errc::missing_accept:
        return "Sec-WebSocket-Accept missing";
      case errc::accept_mismatch:
        return "Sec-WebSocket-Accept does not match the key";
      case errc::unexpected_subprotocol:
        return "server chose a subprotocol that was not offered";
      case errc::unexpected_extension:
        return "server chose an extension that was not offered";
      case errc::unexpected_handshake_data:
        return "unexpected bytes during the opening handshake";
      case errc::extension_failed:
        return "extension could not process a frame";
      case errc::answered_as_http:
        return "request answered as plain HTTP";
      case errc::close_reason_not_utf8:
        return "close reason is not UTF-8";
      case errc::invalid_handshake_option:
        return "handshake header, status or token from the application is not valid HTTP";
      case errc::connection_closed:
        return "connection closed by the close handshake";
      case errc::invalid_extension_response:
        return "server's extension parameters are invalid or were not offered";
      case errc::method_not_connect:
        return "extended CONNECT request method is not CONNECT";
      case errc::missing_protocol_websocket:
        return "extended CONNECT request lacks :protocol websocket";
      case errc::invalid_pseudo_header:
        return "extended CONNECT request lacks :scheme, :path or :authority, or one is malformed";
    }
    return "unknown ws error";
  }

  std::error_condition default_error_condition(int value) const noexcept override {
    const auto e = static_cast<errc>(value);
    if (e == errc::frame_too_large || e == errc::message_too_large) {
      return condition::limit_exceeded;
    }
    if (e >= errc::reserved_bits_set && e <= errc::invalid_utf8) {
      return condition::protocol_violation;
    }
    if (e == errc::extension_failed) return condition::protocol_violation;
    if (e >= errc::unexpected_eof && e <= errc::idle_timeout) {
      return condition::transport_failure;
    }
    if ((e >= errc::not_open && e <= errc::wrong_role) || e == errc::close_reason_not_utf8 ||
        e == errc::invalid_handshake_option) {
      return condition::misuse;
    }
    if ((e >= errc::head_too_large && e <= errc::unexpected_handshake_data) ||
        e == errc::invalid_extension_response ||
        (e >= errc::method_not_connect && e <= errc::invalid_pseudo_header)) {
      return condition::handshake_failed;
    }
    return {value, *this};
  }
};

class ConditionCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ws.condition"; }
  std::string message(int value) const override {
    switch (static_cast<condition>(value)) {
      case condition::protocol_violation:
        return "protocol violation by the peer";
      case condition::limit_exceeded:
        return "configured limit exceeded by the peer";
      case condition::transport_failure:
        return "transport ended or timed out";
      case condition::misuse:
        return "API misuse by the application";
      case condition::handshake_failed:
        return "opening handshake failed";
    }
    return "unknown ws condition";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const ErrorCategory category;
  return category;
}

const std::error_category& condition_category() noexcept {
  static const ConditionCategory category;
  return category;
}

}  // namespace ws
