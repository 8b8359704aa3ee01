// --http2 of the example servers: HTTP/2 (RFC 8441 WebSockets over HTTP/2
// streams) beside HTTP/1.1 on one port, through ws::http2.
#pragma once

#include "common/server_options.hpp"
#include "ws/driver/driver.hpp"

namespace ws::examples {

/// With --http2, sets options.socket_driver to ws::http2's server
/// protocols (ALPN h2 over --tls, prior knowledge without); `log_requests`
/// prints one line per request stream on standard output:
///   http2: connection=N stream=S method=M protocol=P path=/...
/// Returns false after printing why when this build has no ws::http2.
bool make_server_http2(const ServerOptions& options, const char* tool, bool log_requests,
                       DriverOptions& driver);

}  // namespace ws::examples
