// Opening-handshake heads as a peer would send them, shared by the
// handshake tests.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ws/handshake/http_head.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws::test {

/// The key of the RFC 6455 1.3 example and its Sec-WebSocket-Accept.
inline constexpr std::string_view kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
inline constexpr std::string_view kRfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The header fields of a valid upgrade request (Host, Upgrade, Connection,
/// Sec-WebSocket-Key, Sec-WebSocket-Version, Origin), in that order.
std::vector<HeaderField> upgrade_fields();

/// `start_line`, then each field as "name: value", CRLF line ends, and the
/// empty line.
std::string head_text(std::string_view start_line, const std::vector<HeaderField>& fields);

/// An HTTP/2 extended CONNECT for a WebSocket (RFC 8441 5.1's example:
/// CONNECT, websocket, https, server.example.com, /chat) with `fields` as
/// its regular header fields.
ExtendedConnectRequest extended_connect(std::vector<HeaderField> fields = {
                                            {"sec-websocket-version", "13"}});

/// upgrade_fields() with the field named `name` removed (case-insensitive).
std::vector<HeaderField> without(std::vector<HeaderField> fields, std::string_view name);

/// upgrade_fields() with the value of `name` replaced, or the field added.
std::vector<HeaderField> with(std::vector<HeaderField> fields, std::string_view name,
                              std::string_view value);

/// A valid upgrade request: "GET /chat?room=1 HTTP/1.1" with upgrade_fields().
std::string valid_upgrade_request();

/// Parses `text` as a request head (one feed) and validates it as an
/// upgrade: empty on success, else the first error.
std::error_code upgrade_outcome(std::string_view text);

}  // namespace ws::test
