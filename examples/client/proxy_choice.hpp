// ws-client's proxy: --proxy URL, else the environment (http_proxy,
// https_proxy, all_proxy, no_proxy; issue 20) unless --no-proxy, and the
// line that says what went wrong when the proxy was the problem.
#pragma once

#include <optional>
#include <string>
#include <system_error>

#include "ws/driver/client_route.hpp"
#include "ws/proxy/settings.hpp"

namespace ws_client {

struct ProxyChoice {
  /// Set: connect through it. Unset: connect directly.
  std::optional<ws::proxy::ProxySettings> proxy;
  /// Where it came from ("--proxy", "https_proxy", "NO_PROXY"); empty when
  /// nothing applied.
  std::string source;
};

/// Decides the proxy for `url` (a valid ws:// or wss:// URL): `proxy_url`
/// when not empty (--proxy), else nothing when `ignore_environment`
/// (--no-proxy), else ws::proxy::proxy_for() over `environment`. Returns the
/// error message when --proxy or the environment variable that applies is
/// not a proxy URL: the caller stops, since connecting directly would
/// quietly bypass the proxy the user asked for.
std::optional<std::string> choose_proxy(const std::string& url, const std::string& proxy_url,
                                        bool ignore_environment,
                                        const ws::proxy::Environment& environment,
                                        ProxyChoice& out);

/// The route for `choice`: with `from_environment` (neither --proxy nor
/// --no-proxy) the environment's route, asked again for every URL a
/// redirect leads to; otherwise the chosen proxy's, or null when direct.
/// Remembers the proxy for proxy_failure(). Call once, on the main thread,
/// before connecting.
std::shared_ptr<const ws::ClientRoute> use_proxy(const ProxyChoice& choice, bool from_environment);

/// When a proxy is in use and `error` is its doing (a proxy errc, with
/// `detail` what the proxy said) or a failure to reach it (a system error
/// of the connect): the line to print, naming the proxy. Empty otherwise.
std::string proxy_failure(std::error_code error, std::string_view detail);

}  // namespace ws_client
