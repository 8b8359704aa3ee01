// Which proxy a client goes through: ProxySettings, the proxy URL that
// names one (parse_proxy_url) and the environment rules that pick one for a
// WebSocket URL (proxy_for), as pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "ws/base/result.hpp"
#include "ws/handshake/client_handshake.hpp"

namespace ws::proxy {

enum class ProxyKind {
  http,     // HTTP CONNECT (RFC 9110 9.3.6)
  socks5,   // SOCKS5 (RFC 1928)
  socks5h,  // SOCKS5, host names always resolved by the proxy
};

/// "http", "socks5" or "socks5h".
std::string_view scheme_name(ProxyKind kind) noexcept;

struct ProxySettings {
  ProxyKind kind = ProxyKind::http;
  std::string host;                     // lower-cased; an IPv6 literal without brackets
  std::uint16_t port = 0;               // never 0 once parsed
  std::optional<std::string> username;  // set: authenticate (Basic, RFC 1929)
  std::string password;                 // empty when the URL has none

  friend bool operator==(const ProxySettings&, const ProxySettings&) = default;
};

/// Default ports when the URL has none: 80 for http:// (the scheme's own
/// default, RFC 9110 4.2.1, as Go and Python use; proxies have no common
/// port of their own: squid 3128, tinyproxy 8888) and 1080 for socks5://
/// and socks5h:// (the port IANA assigned to SOCKS).
inline constexpr std::uint16_t default_http_proxy_port = 80;
inline constexpr std::uint16_t default_socks_proxy_port = 1080;

/// Parses "scheme://[user[:password]@]host[:port][/]":
/// - scheme: http, socks5 or socks5h, case-insensitive; without "://" the
///   text is taken as an http proxy ("proxy.corp:3128", a common form of
///   http_proxy); https, socks4 and others: errc::unsupported_proxy_scheme.
/// - user and password are percent-decoded ("p%40ss" is "p@ss"); the last
///   '@' ends them, the first ':' separates them.
/// - host: a name or IPv4 address (letters, digits, "-._~"), or an IPv6
///   literal in brackets; lower-cased.
/// - port: 1..65535, else the defaults above.
/// Anything else (a path other than "/", a query, a fragment, spaces or
/// control bytes, a bad percent escape): errc::invalid_proxy_url.
Result<ProxySettings> parse_proxy_url(std::string_view url);

/// The URL of `settings` without its password (for messages and logs):
/// "socks5h://alice@[::1]:1080".
std::string display_url(const ProxySettings& settings);

/// Looks up an environment variable by name: std::nullopt when unset. A
/// fake one in tests; process_environment() for the real one.
using Environment = std::function<std::optional<std::string>(std::string_view name)>;

/// The process environment (std::getenv): not safe against a concurrent
/// setenv(), like getenv itself.
Environment process_environment();

/// What the environment says for one URL.
struct ProxyLookup {
  /// Set: connect through this proxy. Unset: connect directly.
  std::optional<ProxySettings> proxy;
  /// The variable that decided ("https_proxy", "ALL_PROXY", "no_proxy"),
  /// or whose value is not a proxy URL; empty when no variable applied.
  std::string variable;
  /// Set when `variable`'s value is not a proxy URL (errc::invalid_proxy_url
  /// or errc::unsupported_proxy_scheme): the caller reports it and does not
  /// connect, since connecting directly would quietly bypass the proxy the
  /// user asked for.
  std::error_code error;
};

/// The environment rules of issue 20, in this order:
/// 1. The proxy variable: ws:// uses http_proxy, wss:// https_proxy; when
///    that is unset, all_proxy. Each name is looked up in lower case first,
///    then upper case (http_proxy before HTTP_PROXY). A variable set to an
///    empty (or all-blank) value counts as unset. None set: direct.
/// 2. no_proxy (then NO_PROXY): a comma-separated list; each entry, with
///    blanks around it removed and its port ignored, is
///    - "*": every host;
///    - an IP address (IPv6 with or without brackets; with a port only in
///      brackets, "[::1]:8080"): the URL's host when it is the same address
///      (compared as addresses, "::1" equals "0::1"); names are not
///      resolved, so an address never matches a name;
///    - a name, with or without a leading "." or "*.": the URL's host when
///      it is that name or ends with "." and that name (".example.com" and
///      "example.com" both match example.com and a.example.com, not
///      badexample.com).
///    Case-insensitive; a trailing '.' on either side is ignored. Loopback
///    (localhost, 127.0.0.1, ::1) is not exempt unless listed. A match:
///    direct, `variable` says which no_proxy variable.
/// 3. Otherwise the variable's value is parsed with parse_proxy_url(); when
///    that fails, the lookup carries the error (see ProxyLookup::error).
ProxyLookup proxy_for(const WsUrl& url, const Environment& env);

/// Whether `host` (a WsUrl's host: lower-cased, IPv6 without brackets) is
/// matched by the no_proxy list `list` (rule 2 above).
bool no_proxy_matches(std::string_view list, std::string_view host);

}  // namespace ws::proxy
