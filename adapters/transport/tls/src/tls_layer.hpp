// The one TLS connection behind ws::tls's factories (tls_layer.cpp); the
// factories (contexts.cpp) configure the SSL and hand it over.
#pragma once

#include <memory>

#include <openssl/ssl.h>

#include "ws/base/result.hpp"
#include "ws/base/role.hpp"
#include "ws/driver/stream_layer.hpp"

namespace ws::tls::detail {

/// A layer over `ssl`, which it owns from now on (freed on failure too).
/// `ssl` is configured (accept or connect state, host name and checks);
/// the layer gives it its memory BIOs. `contexts` keeps alive what the
/// SSL's callbacks point into. A client's ClientHello is written at once.
Result<std::unique_ptr<StreamLayer>> make_layer(std::shared_ptr<const void> contexts, SSL* ssl,
                                                Role role);

}  // namespace ws::tls::detail
