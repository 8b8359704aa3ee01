// The client side of the opening handshake (RFC 6455 3, 4.1): parse a ws://
// or wss:// URL, build the upgrade request, validate the server's answer.
//
// Pure functions, safe to call from any thread. The caller supplies the 16 random key bytes, so
// requests are reproducible in tests (ws::Connection draws them from its random source).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ws/base/result.hpp"
#include "ws/handshake/http_head.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws {

/// A parsed WebSocket URL (RFC 6455 3).
struct WsUrl {
  bool secure = false;      // wss: TLS is the transport's business
  std::string host;         // lower-cased; an IPv6 literal without brackets
  std::uint16_t port = 80;  // the explicit port, else 80 (ws) or 443 (wss)
  std::string path = "/";   // starts with '/'
  std::string query;        // without the '?'; empty when absent

  /// The request-target: path, then '?' and the query when it is not empty.
  std::string resource() const;
  /// The Host field value (RFC 6455 4.1 item 4): the host, in brackets if
  /// IPv6, with ":port" only when the port is not the scheme's default.
  std::string host_header() const;
};

/// Parses "ws://host[:port][/path][?query]" or the same with wss. The scheme
/// and host are case-insensitive; an IPv6 literal goes in brackets
/// ("ws://[::1]:9000/"). Errors, all errc::invalid_url: another scheme,
/// userinfo ("user@"), a fragment ('#', RFC 6455 3), an empty host, a host
/// with characters other than letters, digits and "-._~" (percent-encoded
/// names and IPv6 zone ids are not supported), a port outside 1..65535, and
/// spaces, control bytes or non-ASCII bytes anywhere (percent-encode them).
Result<WsUrl> parse_ws_url(std::string_view url);

/// What the client asks for besides the mandatory fields.
struct ClientHandshakeOptions {
  std::optional<std::string> origin;  // sent as Origin when set
  /// Sec-WebSocket-Protocol, in order of preference; each a token, no duplicates.
  std::vector<std::string> subprotocols;
  /// Sec-WebSocket-Extensions offers, each an extension with its
  /// parameters ("permessage-deflate; client_max_window_bits").
  std::vector<std::string> extension_offers;
  /// Added after the WebSocket fields (Authorization, Cookie...). Names must
  /// be tokens, values free of control bytes, and none may be a field the
  /// handshake sets itself (Host, Upgrade, Connection, Origin,
  /// Sec-WebSocket-*, Content-Length, Transfer-Encoding).
  std::vector<HeaderField> extra_headers;
};

/// A request ready to send and what its answer must contain.
struct ClientHandshake {
  std::string request;                       // the complete request head
  std::string key;                           // Sec-WebSocket-Key sent
  std::string expected_accept;               // compute_accept_key(key)
  std::vector<std::string> subprotocols;     // offered, as sent
  std::vector<std::string> extension_names;  // offered extension names, lower-cased
};

/// Builds the upgrade request (RFC 6455 4.1):
///   GET <url.resource()> HTTP/1.1
///   Host: <url.host_header()>
///   Upgrade: websocket
///   Connection: Upgrade
///   Sec-WebSocket-Key: <base64 of key_bytes>
///   Sec-WebSocket-Version: 13
///   [Origin] [Sec-WebSocket-Protocol] [Sec-WebSocket-Extensions] [extra headers]
/// `key_bytes` must be fresh random bytes for each request (RFC 6455 4.1
/// item 7). Errors: invalid_handshake_option when an option is not valid
/// HTTP, a subprotocol is not a token or repeats, or an extra header
/// collides with a handshake field.
Result<ClientHandshake> make_client_request(const WsUrl& url, const ClientHandshakeOptions& options,
                                            std::span<const std::byte, 16> key_bytes);

/// What the server agreed to in its 101 response.
struct AcceptedHandshake {
  std::optional<std::string> subprotocol;  // chosen by the server, if any
  std::vector<std::string> extensions;     // Sec-WebSocket-Extensions values, one per line
};

/// Checks the server's response head against RFC 6455 4.1, in this order:
///   a response, else                        malformed_status_line
///   status 101, else                        unexpected_status
///   Upgrade has "websocket", else           missing_upgrade_websocket
///   Connection has "upgrade", else          missing_connection_upgrade
///   Sec-WebSocket-Accept present, else      missing_accept
///   it is one line equal to expected_accept, else accept_mismatch
///   at most one subprotocol, one offered, else unexpected_subprotocol
///   every extension named in an offer, else unexpected_extension
///
/// On unexpected_status the handshake failed but the response is an
/// ordinary HTTP answer the application may act on (a 401 to authenticate,
/// a 302 whose Location to follow): `head` still holds the status, reason
/// and headers. The response body is not part of the head: it is the bytes
/// that follow it in the stream (HttpHeadParser::feed() stops right before
/// them; for parse_http_head() they start at head.size), and
/// content_length(head) says how many there are.
Result<AcceptedHandshake> validate_server_response(const HttpHead& head,
                                                   const ClientHandshake& handshake);

/// A WebSocket over HTTP/2 (RFC 8441): the extended CONNECT to send on a new
/// stream, and what its answer is checked against.
struct ClientConnect {
  /// :method CONNECT, :protocol websocket, :scheme http or https (ws or
  /// wss), :authority url.host_header(), :path url.resource(); then
  /// sec-websocket-version: 13, [origin], [sec-websocket-protocol],
  /// [sec-websocket-extensions] and the extra headers, names in lower case.
  ExtendedConnectRequest request;
  /// The offered subprotocols and extension names (no key: RFC 8441 5).
  ClientHandshake expected;
};

/// Builds the extended CONNECT for `url` with the same options and the
/// same checks as make_client_request(), plus RFC 9113 8.2.2: an extra
/// header HTTP/2 forbids (Keep-Alive, Proxy-Connection, TE) is
/// invalid_handshake_option.
Result<ClientConnect> make_client_connect(const WsUrl& url, const ClientHandshakeOptions& options);

/// Checks the answer to an extended CONNECT (RFC 8441 5), `head` holding
/// its :status and fields: a 2xx status, else unexpected_status (the answer
/// is then an ordinary HTTP answer, as for validate_server_response());
/// then the subprotocol and extensions as validate_server_response()
/// checks them. No Upgrade, Connection or Sec-WebSocket-Accept is asked for.
Result<AcceptedHandshake> validate_connect_response(const HttpHead& head,
                                                    const ClientHandshake& expected);

}  // namespace ws
