// ws-load --http2: WebSockets over HTTP/2 (RFC 8441) as a load generator.
// --connections WebSockets are spread over --h2-connections TCP
// connections (h2c with prior knowledge, or ALPN "h2" with --tls), each an
// extended CONNECT stream whose DATA carries the WebSocket's frames. HTTP/2
// itself is nghttp2's client session; the WebSocket frames (masked, as a
// client's must be) are made and parsed here.
#pragma once

#include <memory>
#include <string>

#include "load_common.hpp"

namespace ws_bench {
class TlsClientShared;
}

namespace ws_load {

/// The HTTP/2 transport; `tls` is null without --tls. Null with `error`
/// set when it cannot start (its loop thread, its epoll instance).
std::unique_ptr<Transport> make_http2_transport(const Options& options, Tally& tally,
                                                std::shared_ptr<ws_bench::TlsClientShared> tls,
                                                std::string& error);

}  // namespace ws_load
