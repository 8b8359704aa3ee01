// Errors of ws::proxy: one enum and its std::error_category ("ws.proxy").
//
// parse_proxy_url(), proxy_for() and tunnel_layer() fail with the first
// group (a setting is wrong); a tunnel layer reports the second through
// StreamLayer::error(), and those compare equal to
// ws::condition::handshake_failed. What the proxy said (an HTTP status line
// and its fields, a SOCKS reply code) is kept: ws::proxy::refusal().
#pragma once

#include <system_error>
#include <type_traits>

namespace ws::proxy {

/// Values are stable; append only.
enum class errc : int {
  // ---- Settings -------------------------------------------------------------
  // Not a proxy URL: no host, a bad port, a path, a bad percent escape.
  invalid_proxy_url = 1,
  // A scheme other than http, socks5 and socks5h (https://, socks4://).
  unsupported_proxy_scheme,
  // The host the tunnel should reach is empty or not a name or address
  // (a SOCKS5 domain name holds at most 255 bytes, RFC 1928 5).
  invalid_target,
  // Credentials the protocol cannot carry: a SOCKS5 user name or password
  // longer than 255 bytes or an empty user name (RFC 1929 2); for HTTP Basic
  // a user name with ':' or control characters in either (RFC 7617 2).
  invalid_credentials,
  // ---- The proxy's answer (StreamLayer::error) ----------------------------
  // An HTTP proxy answered CONNECT with a status other than 2xx (and other
  // than 401/407, below). refusal() has the status line and fields.
  http_refused,
  // The proxy wants credentials and none were given (HTTP 401 or 407).
  authentication_required,
  // The proxy refused the credentials given (HTTP 401 or 407; RFC 1929
  // STATUS other than 0).
  authentication_failed,
  // The SOCKS5 proxy accepted none of the offered authentication methods
  // (METHOD X'FF', RFC 1928 3): typically it wants credentials.
  no_acceptable_method,
  // The SOCKS5 reply to CONNECT, REP 1 to 8 (RFC 1928 6), one value each.
  socks_general_failure,
  socks_not_allowed,
  socks_network_unreachable,
  socks_host_unreachable,
  socks_connection_refused,
  socks_ttl_expired,
  socks_command_not_supported,
  socks_address_type_not_supported,
  // A SOCKS5 REP that RFC 1928 does not assign (9 to 255).
  socks_refused,
  // The answer is not the protocol: not an HTTP/1.x status line or field,
  // a SOCKS version other than 5, a method that was not offered, an
  // unknown address type.
  malformed_reply,
  // The stream ended before the tunnel was up.
  eof_in_handshake,
  // The HTTP proxy's response head exceeded 16 KiB or 100 field lines.
  response_too_large,
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc error) noexcept {
  return {static_cast<int>(error), error_category()};
}

}  // namespace ws::proxy

namespace std {
template <>
struct is_error_code_enum<ws::proxy::errc> : true_type {};
}  // namespace std
