// The TLS layer (ws::tls) of the example servers' --tls CERT KEY, for the
// transports that host a ws::Driver (threads, epoll, io_uring). The Asio
// mode keeps asio::ssl (docs/design.md says why).
#pragma once

#include <memory>

#include "common/server_options.hpp"
#include "ws/driver/stream_layer.hpp"

namespace ws::examples {

/// Fills `layer` with the server layer of options.tls_certificate and
/// options.tls_key, or leaves it empty when --tls was not given. Returns
/// false after printing "<tool>: cannot use the TLS certificate or key:
/// <why>" on standard error.
bool make_server_tls(const ServerOptions& options, const char* tool,
                     std::shared_ptr<const StreamLayerFactory>& layer);

}  // namespace ws::examples
