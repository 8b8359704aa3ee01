#include "proxy_choice.hpp"

#include "ws/proxy/error.hpp"
#include "ws/proxy/route.hpp"

namespace ws_client {

namespace {

// The proxy in use (display form, without the password), for messages.
// Written once before the connection starts, read after it ended.
std::string& proxy_in_use() {
  static std::string display;
  return display;
}

}  // namespace

std::optional<std::string> choose_proxy(const std::string& url, const std::string& proxy_url,
                                        bool ignore_environment,
                                        const ws::proxy::Environment& environment,
                                        ProxyChoice& out) {
  out = {};
  if (!proxy_url.empty()) {
    ws::Result<ws::proxy::ProxySettings> settings = ws::proxy::parse_proxy_url(proxy_url);
    if (!settings) return "--proxy: " + settings.error().message();
    out.proxy = std::move(*settings);
    out.source = "--proxy";
    return std::nullopt;
  }
  if (ignore_environment) return std::nullopt;
  const ws::Result<ws::WsUrl> parsed = ws::parse_ws_url(url);
  if (!parsed) return "'" + url + "' is not a ws:// or wss:// URL";
  ws::proxy::ProxyLookup lookup = ws::proxy::proxy_for(*parsed, environment);
  if (lookup.error) {
    return "the environment variable " + lookup.variable + " is not a proxy URL (" +
           lookup.error.message() + "); fix it, or use --no-proxy or --proxy";
  }
  out.proxy = std::move(lookup.proxy);
  out.source = std::move(lookup.variable);
  return std::nullopt;
}

std::shared_ptr<const ws::ClientRoute> use_proxy(const ProxyChoice& choice, bool from_environment) {
  if (choice.proxy) proxy_in_use() = ws::proxy::display_url(*choice.proxy);
  // A redirect may lead to another host or scheme: the environment is asked
  // again for each URL (no_proxy, https_proxy for wss://).
  if (from_environment) return ws::proxy::environment_route(ws::proxy::process_environment());
  if (!choice.proxy) return nullptr;
  return ws::proxy::route(*choice.proxy);
}

std::string proxy_failure(std::error_code error, std::string_view detail) {
  if (proxy_in_use().empty() || !error) return {};
  if (error.category() == ws::proxy::error_category()) {
    std::string line = "proxy " + proxy_in_use() + ": " + error.message();
    if (!detail.empty()) line += " (it answered: " + std::string(detail) + ")";
    return line;
  }
  // The socket connects to the proxy, so a failed connect is the proxy's
  // address not answering (the target's refusal comes as a proxy errc).
  if (error == std::errc::connection_refused || error == std::errc::host_unreachable ||
      error == std::errc::network_unreachable || error == std::errc::address_not_available) {
    return "cannot reach proxy " + proxy_in_use() + ": " + error.message();
  }
  return {};
}

}  // namespace ws_client
