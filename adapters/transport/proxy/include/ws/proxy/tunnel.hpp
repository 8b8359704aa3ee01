// A proxy tunnel as a ws::StreamLayer: the layer first speaks the proxy's
// protocol on the wire (HTTP CONNECT, RFC 9110 9.3.6; SOCKS5, RFC 1928 with
// RFC 1929 user name and password), reports handshake_done() once the
// tunnel is up, then passes bytes through unchanged both ways. It goes below
// every other layer: wss:// through a proxy is
// stack_layers(tunnel_layer(...), tls_layer) (stacked_layer.hpp).
//
// The transport connects its socket to the proxy (settings.host and port),
// not to the target, and hosts the layer in its Driver as any other. No
// I/O, no resolver, no clock here: a proxy that never answers is bounded by
// the Connection's handshake timeout, which counts the tunnel's time too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ws/base/result.hpp"
#include "ws/driver/stream_layer.hpp"
#include "ws/handshake/http_head.hpp"
#include "ws/proxy/error.hpp"
#include "ws/proxy/settings.hpp"

namespace ws::proxy {

/// Bounds of a tunnel layer.
inline constexpr std::size_t max_response_head = 16 * 1024;    // HTTP proxy's answer
inline constexpr std::size_t tunnel_input_limit = 16 * 1024;   // wire bytes not yet read()
inline constexpr std::size_t tunnel_output_limit = 64 * 1024;  // wire bytes pending

/// A layer that opens a tunnel through the proxy `settings` to
/// `host`:`port` and then carries the stream.
///
/// `host` is a name, an IPv4 address or an IPv6 address (with or without
/// brackets). HTTP: the request is
///   CONNECT host:port HTTP/1.1          (IPv6 in brackets)
///   Host: host:port                     (RFC 9112 3.2: the authority as sent)
///   Proxy-Authorization: Basic ...      (RFC 7617, when settings.username)
/// SOCKS5: an address goes as ATYP 1 (IPv4) or 4 (IPv6), a name as ATYP 3,
/// resolved by the proxy. The layer never resolves: for socks5:// as curl
/// means it (the client resolves) the caller passes the address it
/// resolved; issue 20 has the proxy resolve names for both schemes, which
/// is passing the name. Greeting: methods X'00' (no authentication) or,
/// with credentials, X'00' and X'02' (the proxy chooses).
///
/// Errors: errc::invalid_target (empty host, a name with characters outside
/// letters, digits and "-._~", a SOCKS5 name over 255 bytes),
/// errc::invalid_credentials (see error.hpp).
Result<std::unique_ptr<StreamLayer>> tunnel_layer(const ProxySettings& settings,
                                                  std::string_view host, std::uint16_t port);

/// What a proxy said when it refused.
struct Refusal {
  ProxyKind kind = ProxyKind::http;
  /// HTTP: the status code (407). SOCKS5: the reply's REP (1..255), or for
  /// errc::authentication_failed the RFC 1929 STATUS.
  int status = 0;
  /// HTTP: the reason phrase as sent ("Proxy Authentication Required").
  /// SOCKS5: the RFC's text for the code.
  std::string reason;
  /// HTTP: the response's header fields in order (Proxy-Authenticate...).
  std::vector<HeaderField> fields;
  /// HTTP: the version of the status line (tinyproxy answers HTTP/1.0).
  int version_major = 0;
  int version_minor = 0;
};

/// The refusal behind `layer`'s error(), or nullptr: when the layer is not
/// a tunnel (a stacked layer is searched through its lower layer), has not
/// failed, or failed otherwise (malformed reply, end of stream). Valid while
/// the layer lives.
const Refusal* refusal(const StreamLayer& layer) noexcept;

}  // namespace ws::proxy
