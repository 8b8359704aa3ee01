// A proxy as a ws::ClientRoute: set ClientOptions::route to route(settings)
// and any client transport (epoll, io_uring, blocking threads) connects its
// socket to the proxy and opens the tunnel below the URL's own layer.
#pragma once

#include <memory>

#include "ws/driver/client_route.hpp"
#include "ws/proxy/settings.hpp"

namespace ws::proxy {

/// The route through the proxy `settings` (as parse_proxy_url() or
/// proxy_for() gave them). For a URL, hop() is the proxy's host and port and
/// layer() is tunnel_layer(settings, url.host, url.port), with the URL's own
/// layer (TLS for wss://) stacked above it (stack_layers): the TLS handshake
/// and the certificate check are with the server, through the tunnel, under
/// the URL's host name. The target's name goes to the proxy unresolved (the
/// proxy resolves it, for socks5:// as for socks5h://).
///
/// Errors of layer(): tunnel_layer()'s (errc::invalid_target,
/// errc::invalid_credentials). A refusal by the proxy ends the connection
/// later, through on_close: Closed::error is the errc (compares equal to
/// ws::condition::handshake_failed) and Closed::reason is what the proxy
/// said (the HTTP status line, the SOCKS reply).
///
/// Immutable: one route serves every connection of a client, on any thread.
std::shared_ptr<const ClientRoute> route(ProxySettings settings);

/// The route the environment gives each URL (proxy_for(url, env), the rules
/// of settings.hpp): asked again for every URL, so a client that follows a
/// redirect to another host or scheme goes through the proxy, or directly,
/// as the environment says for the new URL. Through a proxy it behaves as
/// route(settings); directly, hop() is the URL's host and port and layer()
/// the URL's own layer.
///
/// Errors of layer(): those of route(), and the ProxyLookup's error when the
/// variable that applies is not a proxy URL (errc::invalid_proxy_url,
/// errc::unsupported_proxy_scheme): the connection is not attempted rather
/// than made directly. `env` is called on the connecting thread, each time,
/// so it must be safe to call there (process_environment() is, unless the
/// process calls setenv meanwhile).
std::shared_ptr<const ClientRoute> environment_route(Environment env);

}  // namespace ws::proxy
