// TLS layer factories over the test certificates, for any test that runs a
// transport over TLS: a server with the localhost certificate and a client
// that trusts the test CA (and checks the host name).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ws/driver/stream_layer.hpp"

namespace ws::test::tls {

/// Made once per process; never null (aborts the test program otherwise).
std::shared_ptr<const StreamLayerFactory> test_server_layer();
std::shared_ptr<const StreamLayerFactory> test_client_layer();
/// The same, offering these ALPN protocols (HTTP/2 tests: "h2"); made anew.
std::shared_ptr<const StreamLayerFactory> test_server_layer(std::vector<std::string> alpn);
std::shared_ptr<const StreamLayerFactory> test_client_layer(std::vector<std::string> alpn);

}  // namespace ws::test::tls
