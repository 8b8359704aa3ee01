#include "tls/test_layers.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tls/test_certificates.hpp"
#include "ws/tls/layer.hpp"

namespace ws::test::tls {
namespace {

std::shared_ptr<const StreamLayerFactory> or_abort(
    Result<std::shared_ptr<const StreamLayerFactory>> made, const std::string& detail) {
  if (!made) {
    std::fprintf(stderr, "test TLS layer: %s: %s\n", made.error().message().c_str(),
                 detail.c_str());
    std::abort();
  }
  return *made;
}

}  // namespace

std::shared_ptr<const StreamLayerFactory> test_server_layer() {
  static const std::shared_ptr<const StreamLayerFactory> layer = [] {
    const TestCertificates& certificates = test_certificates();
    ws::tls::ServerSettings settings;
    settings.certificate_file = certificates.localhost.certificate_file;
    settings.private_key_file = certificates.localhost.private_key_file;
    std::string detail;
    return or_abort(ws::tls::server_layer(settings, &detail), detail);
  }();
  return layer;
}

std::shared_ptr<const StreamLayerFactory> test_client_layer() {
  static const std::shared_ptr<const StreamLayerFactory> layer = [] {
    ws::tls::ClientSettings settings;
    settings.ca_file = test_certificates().ca_file;
    std::string detail;
    return or_abort(ws::tls::client_layer(settings, &detail), detail);
  }();
  return layer;
}

std::shared_ptr<const StreamLayerFactory> test_server_layer(std::vector<std::string> alpn) {
  const TestCertificates& certificates = test_certificates();
  ws::tls::ServerSettings settings;
  settings.certificate_file = certificates.localhost.certificate_file;
  settings.private_key_file = certificates.localhost.private_key_file;
  settings.alpn = std::move(alpn);
  std::string detail;
  return or_abort(ws::tls::server_layer(settings, &detail), detail);
}

std::shared_ptr<const StreamLayerFactory> test_client_layer(std::vector<std::string> alpn) {
  ws::tls::ClientSettings settings;
  settings.ca_file = test_certificates().ca_file;
  settings.alpn = std::move(alpn);
  std::string detail;
  return or_abort(ws::tls::client_layer(settings, &detail), detail);
}

}  // namespace ws::test::tls
