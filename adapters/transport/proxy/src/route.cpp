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

}  // namespace

std::shared_ptr<const ClientRoute> route(ProxySettings settings) {
  return std::make_shared<const ProxyRoute>(std::move(settings));
}

}  // namespace ws::proxy
