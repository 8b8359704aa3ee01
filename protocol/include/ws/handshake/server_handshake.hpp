// The server side of the opening handshake (RFC 6455 4.2): detect an upgrade
// request, validate it, and build the 101 answer or a rejection. Also the
// same handshake carried by an HTTP/2 extended CONNECT (RFC 8441): validate
// what the HTTP/2 layer received and build the 200 answer's fields.
//
// These are pure functions over an HttpHead; they do no I/O and keep no
// state (so they are safe to call from any thread), and an HTTP server that
// read the request itself can use them as well as ws::Connection.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ws/base/result.hpp"
#include "ws/handshake/http_head.hpp"

namespace ws {

/// Whether `request_head` (a request head another HTTP server already read,
/// with or without its final empty line) asks for a WebSocket upgrade: it
/// parses as a request head, its Upgrade field has the token "websocket"
/// and its Connection field the token "upgrade". It does not check the
/// method, version or key: validate_upgrade_request() does, so a faulty
/// upgrade gets its precise error response instead of being served as
/// plain HTTP. No size limit applies (the head is already in memory).
/// False for garbage; never throws.
bool is_upgrade(std::string_view request_head) noexcept;
bool is_upgrade(const HttpHead& head) noexcept;

/// How the opening handshake reached the server. Either way the request is
/// validated into the same UpgradeRequest and the WebSocket that follows is
/// the same; an application may ask (to log it, say) and otherwise need not
/// care.
enum class HandshakeCarriage : std::uint8_t {
  /// RFC 6455 4: an HTTP/1.1 GET with Upgrade: websocket, answered by 101;
  /// the WebSocket then owns the connection.
  http1_upgrade,
  /// RFC 8441: an HTTP/2 CONNECT with :protocol websocket, answered by 200;
  /// the WebSocket then owns one stream of the HTTP/2 connection.
  http2_extended_connect,
};

/// A validated upgrade request, owning its strings, so the application can
/// keep it after the head's buffer is gone (to route the connection by path,
/// subprotocol or Origin). From an HTTP/2 extended CONNECT
/// (validate_extended_connect()), target is the :path, host the
/// :authority, key is empty (RFC 8441 5 uses none), and headers are the
/// regular fields (lower-case names) without the pseudo-headers.
struct UpgradeRequest {
  std::string target;                 // the request-target as sent ("/chat?room=1")
  std::string path;                   // "/chat"; "/" when the target had none
  std::string query;                  // "room=1", without the '?'; empty when absent
  std::string host;                   // the Host field (or the authority of an absolute target)
  std::optional<std::string> origin;  // the Origin field, if sent
  std::string key;                    // Sec-WebSocket-Key
  /// Sec-WebSocket-Protocol elements, in the client's order of preference.
  std::vector<std::string> subprotocols;
  /// Sec-WebSocket-Extensions values, one per field line, unparsed.
  std::vector<std::string> extension_offers;
  /// Every header field line, in order.
  std::vector<HeaderField> headers;
  /// HTTP/1.1 upgrade or HTTP/2 extended CONNECT.
  HandshakeCarriage carriage = HandshakeCarriage::http1_upgrade;

  /// The first header field named `name` (case-insensitive); the view is
  /// valid while this object is unchanged.
  std::optional<std::string_view> header(std::string_view name) const noexcept;
};

/// Checks a request head against RFC 6455 4.2.1, in this order, and copies
/// what the application needs:
///   head is a request, else            malformed_request_line  (400)
///   method GET, else                   method_not_get          (405)
///   HTTP/1.1 or later, else            unsupported_http_version (400)
///   one non-empty Host, else           missing_host (400); two Host lines: malformed_header (400)
///   Upgrade has "websocket", else      missing_upgrade_websocket (400)
///   Connection has "upgrade", else     missing_connection_upgrade (400)
///   Sec-WebSocket-Version: 13, else    unsupported_websocket_version (426)
///   one Sec-WebSocket-Key, else        missing_key / duplicate_key (400)
///   the key is 16 bytes in base64, else invalid_key (400)
///   target in origin or absolute form (no fragment), else malformed_request_line (400)
/// The status in parentheses is http_status_for(error).
Result<UpgradeRequest> validate_upgrade_request(const HttpHead& head);

/// What an HTTP/2 layer received on a stream that may open a WebSocket by
/// an extended CONNECT (RFC 8441 4): the pseudo-headers, each absent when
/// the request did not carry it, and the regular header fields with their
/// names in lower case as HTTP/2 requires (RFC 9113 8.2.1). The HTTP/2 layer
/// has already applied HTTP/2's own rules (SETTINGS_ENABLE_CONNECT_PROTOCOL
/// sent, no connection-specific fields, pseudo-headers first and once).
struct ExtendedConnectRequest {
  std::optional<std::string> method;     // :method
  std::optional<std::string> protocol;   // :protocol
  std::optional<std::string> scheme;     // :scheme
  std::optional<std::string> authority;  // :authority
  std::optional<std::string> path;       // :path
  std::vector<HeaderField> headers;      // the regular fields, in order
};

/// Checks an extended CONNECT against RFC 8441 4 and 5, in this order, and
/// copies what the application needs into an UpgradeRequest whose carriage
/// is http2_extended_connect:
///   :method is "CONNECT" (case-sensitive), else     method_not_connect (400)
///   :protocol is "websocket", else                  missing_protocol_websocket (400)
///     (compared exactly: RFC 8441 5 requires that value, the token
///     registered for it; an absent :protocol makes a plain CONNECT)
///   :scheme present and non-empty, else             invalid_pseudo_header (400)
///   :path present, in origin form ("/..."), no fragment, else invalid_pseudo_header (400)
///   :authority present and non-empty, else          invalid_pseudo_header (400)
///   one sec-websocket-version: 13, else             unsupported_websocket_version (426)
/// The status in parentheses is http_status_for(error); the HTTP/2 layer
/// answers with it (a 426 with sec-websocket-version: 13, as RFC 6455 4.4
/// asks). No sec-websocket-key is needed, and one sent is ignored (RFC 8441
/// 5: the key and Sec-WebSocket-Accept are not used over HTTP/2). Origin,
/// subprotocols, extension offers and header fields are copied exactly as
/// validate_upgrade_request() copies them; target is the :path, split into
/// path and query as over HTTP/1.1; host is the :authority. The :scheme
/// ("https" for wss, "http" for ws) is not checked further.
Result<UpgradeRequest> validate_extended_connect(const ExtendedConnectRequest& request);

/// Sec-WebSocket-Accept for `key` (RFC 6455 4.2.2): base64 of the SHA-1 of
/// the key followed by the GUID 258EAFA5-E914-47DA-95CA-C5AB0DC85B11.
std::string compute_accept_key(std::string_view key);

/// Chooses a subprotocol from those the client offered (in its order).
using SubprotocolSelector =
    std::function<std::optional<std::string>(std::span<const std::string> offered)>;
/// Given the client's Sec-WebSocket-Extensions values, returns the value of
/// the Sec-WebSocket-Extensions response field; empty means no extension.
using ExtensionNegotiator = std::function<std::string(std::span<const std::string> offers)>;

/// How the server answers a valid upgrade request.
struct AcceptOptions {
  /// Subprotocols the server speaks, most preferred first: the first of
  /// these that the client offered is chosen.
  std::vector<std::string> subprotocols;
  /// Consulted when `subprotocols` found no match (or is empty) and the
  /// client offered at least one. A returned name the client did not offer
  /// is ignored: RFC 6455 4.2.2 allows only an offered one.
  SubprotocolSelector select_subprotocol;
  /// Called when the client offered extensions. permessage-deflate plugs in
  /// here.
  ExtensionNegotiator negotiate_extensions;
  /// Added to the 101 response after the WebSocket fields (cookies, for
  /// example). Names must be tokens, values must not hold CR, LF or other
  /// control bytes, and none may be a field the handshake sets itself
  /// (Upgrade, Connection, Sec-WebSocket-*, Content-Length, Transfer-Encoding).
  std::vector<HeaderField> extra_headers;
};

/// Whether the request's Origin is in `allowed` (entries such as
/// "https://example.com" or "http://localhost:8080"). Scheme and host
/// compare case-insensitively, a default port (80 for http/ws, 443 for
/// https/wss) equals an omitted one; anything else compares as exact
/// case-insensitive text (so "null" matches only an entry "null"). False
/// when the request has no Origin: non-browser clients send none, and
/// whether to let them in is the application's choice.
bool origin_allowed(const UpgradeRequest& request, std::span<const std::string> allowed);

/// The 101 response and what it agreed to.
struct AcceptResponse {
  std::string text;                        // the complete response head
  std::optional<std::string> subprotocol;  // Sec-WebSocket-Protocol sent, if any
  std::string extensions;                  // Sec-WebSocket-Extensions sent; empty: none
};

/// Builds the 101 Switching Protocols response for a validated request:
///   HTTP/1.1 101 Switching Protocols
///   Upgrade: websocket
///   Connection: Upgrade
///   Sec-WebSocket-Accept: <compute_accept_key(request.key)>
///   [Sec-WebSocket-Protocol: <chosen>]
///   [Sec-WebSocket-Extensions: <negotiated>]
///   [extra headers]
/// Errors: invalid_handshake_option when an extra header or the negotiated
/// extension value is not valid HTTP or collides with a handshake field.
Result<AcceptResponse> build_accept_response(const UpgradeRequest& request,
                                             const AcceptOptions& options);

/// The answer to an extended CONNECT (RFC 8441 5), for the HTTP/2 layer to
/// send as a HEADERS frame: the status and the fields that follow :status.
struct ConnectResponse {
  int status = 200;
  /// The fields to send, names in lower case (RFC 9113 8.2.1), in order:
  /// [sec-websocket-protocol], [sec-websocket-extensions], extra headers.
  std::vector<HeaderField> fields;
  std::optional<std::string> subprotocol;  // sec-websocket-protocol sent, if any
  std::string extensions;                  // sec-websocket-extensions sent; empty: none
};

/// Builds the 200 answer to a request validate_extended_connect() accepted:
/// the same subprotocol choice, extension negotiation and checks of the
/// extra headers as build_accept_response(), with the extra headers' names
/// lower-cased; no Upgrade, Connection or Sec-WebSocket-Accept (RFC 8441 5).
/// Errors: invalid_handshake_option, as for build_accept_response().
Result<ConnectResponse> build_connect_response(const UpgradeRequest& request,
                                               const AcceptOptions& options);

/// Builds a complete rejection response with status `status` (200..599,
/// not 1xx), the standard reason phrase, `headers`, and `body` as its
/// text. The response carries Content-Length, and Content-Type:
/// text/plain; charset=utf-8 and Connection: close unless `headers` set
/// them (a 302 passes its Location here, a 401 its WWW-Authenticate).
/// Errors: invalid_handshake_option for a status out of range, a header
/// that is not valid HTTP, or a Content-Length / Transfer-Encoding header.
Result<std::string> build_rejection_response(int status, std::string_view body,
                                             std::span<const HeaderField> headers = {});

/// The response for a failed handshake, status http_status_for(error) and
/// the error's message as body. A 426 carries Sec-WebSocket-Version: 13 and
/// Upgrade: websocket (RFC 6455 4.4, RFC 9110 15.5.22); a 405 carries
/// Allow: GET.
std::string build_error_response(std::error_code error);

}  // namespace ws
