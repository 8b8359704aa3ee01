#include "common/tls_setup.hpp"

#include <cstdio>
#include <string>

#include "ws/tls/layer.hpp"

namespace ws::examples {

bool make_server_tls(const ServerOptions& options, const char* tool,
                     std::shared_ptr<const StreamLayerFactory>& layer) {
  layer.reset();
  if (!options.tls_certificate) return true;
  tls::ServerSettings settings;
  settings.certificate_file = *options.tls_certificate;
  settings.private_key_file = *options.tls_key;
  // --http2: ALPN offers h2 first (RFC 9113 3.2), HTTP/1.1 for the rest.
  if (options.http2) settings.alpn = {"h2", "http/1.1"};
  std::string detail;
  Result<std::shared_ptr<const StreamLayerFactory>> made = tls::server_layer(settings, &detail);
  if (!made) {
    std::fprintf(stderr, "%s: cannot use the TLS certificate or key: %s%s%s\n", tool,
                 made.error().message().c_str(), detail.empty() ? "" : ": ", detail.c_str());
    return false;
  }
  layer = std::move(*made);
  return true;
}

}  // namespace ws::examples
