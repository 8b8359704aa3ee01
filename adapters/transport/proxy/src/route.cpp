#include "ws/proxy/route.hpp"

#include <utility>

#include "ws/proxy/stacked_layer.hpp"
#include "ws/proxy/tunnel.hpp"

namespace ws::proxy {

namespace {

class ProxyRoute final : public ClientRoute {
 public:
  explicit ProxyRoute(ProxySettings settings) : settings_(std::move(settings)) {}

  ClientHop hop(const WsUrl&) const override { return {settings_.host, settings_.port}; }

  Result<std::unique_ptr<StreamLayer>> layer(const WsUrl& url,
                                             std::unique_ptr<StreamLayer> upper) const override {
    Result<std::unique_ptr<StreamLayer>> tunnel = tunnel_layer(settings_, url.host, url.port);
    if (!tunnel) return tunnel.error();
    if (!upper) return std::move(*tunnel);
    return stack_layers(std::move(*tunnel), std::move(upper));
  }

 private:
  const ProxySettings settings_;
};

class EnvironmentRoute final : public ClientRoute {
 public:
  explicit EnvironmentRoute(Environment env) : env_(std::move(env)) {}

  ClientHop hop(const WsUrl& url) const override {
    const ProxyLookup lookup = proxy_for(url, env_);
    if (lookup.proxy) return ProxyRoute(*lookup.proxy).hop(url);
    return {url.host, url.port};
  }

  Result<std::unique_ptr<StreamLayer>> layer(const WsUrl& url,
                                             std::unique_ptr<StreamLayer> upper) const override {
    const ProxyLookup lookup = proxy_for(url, env_);
    if (lookup.error) return lookup.error;
    if (lookup.proxy) return ProxyRoute(*lookup.proxy).layer(url, std::move(upper));
    return upper;
  }

 private:
  const Environment env_;
};

}  // namespace

std::shared_ptr<const ClientRoute> route(ProxySettings settings) {
  return std::make_shared<const ProxyRoute>(std::move(settings));
}

std::shared_ptr<const ClientRoute> environment_route(Environment env) {
  return std::make_shared<const EnvironmentRoute>(std::move(env));
}

}  // namespace ws::proxy
