// ws::http2: WebSockets over HTTP/2 (RFC 8441) next to HTTP/1.1 on one port,
// with nghttp2 doing HTTP/2 itself (framing, HPACK, flow control, its
// limits against hostile peers).
//
// Turning it on: set DriverOptions::socket_driver of a server to
// server_protocols(). Each accepted socket then speaks
//   - HTTP/2 when TLS chose "h2" by ALPN (the TLS settings must offer it:
//     ws::tls::ServerSettings::alpn = {"h2", "http/1.1"}), or, without TLS,
//     when the client opens with the HTTP/2 preface (h2c with prior
//     knowledge, RFC 9113 3.3);
//   - HTTP/1.1 otherwise, exactly as without this option.
// Over HTTP/2 the server announces SETTINGS_ENABLE_CONNECT_PROTOCOL; each
// extended CONNECT with :protocol websocket becomes a WebSocket with a
// Driver of its own, decided by the same Handler::on_upgrade (the request's
// carriage says which it got); other requests reach Handler::on_http. A
// WebSocket's close ends its stream; a stream reset is an abnormal close
// (1006) of that WebSocket only. Each WebSocket's input is held back by
// HTTP/2 flow control when it reads slowly, so its neighbours keep flowing.
// docs/http2.md says more, and what it costs.
//
// Thread safety: the factory is shared by a server's connections and may be
// used from any thread; each socket's HTTP/2 connection runs on the thread
// of its transport, with every callback there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "ws/driver/socket_driver.hpp"

namespace ws::http2 {

/// What the server tells an observer about each request stream (a log
/// line, a counter): which connection (numbered from 1 per process), the
/// method, the path, and whether it is an extended CONNECT for a WebSocket.
struct RequestSeen {
  std::uint64_t connection = 0;
  std::int32_t stream = 0;
  std::string_view method;
  std::string_view protocol;  // :protocol; empty when absent
  std::string_view path;
};

/// HTTP/2 settings and limits. Input a WebSocket has not taken is bounded
/// per stream by stream_window; each WebSocket also holds what its own
/// limits let it buffer (DriverOptions::backpressure, Config::limits), so
/// a client that stalls every stream can make one connection hold about
/// max_concurrent_streams times (stream_window + those limits). Lower
/// max_concurrent_streams or the WebSocket limits where memory matters
/// more (docs/http2.md, "What it costs").
struct ServerSettings {
  /// SETTINGS_MAX_CONCURRENT_STREAMS: streams one peer may have open.
  std::uint32_t max_concurrent_streams = 100;
  /// SETTINGS_INITIAL_WINDOW_SIZE: what a peer may send on a stream ahead
  /// of the WebSocket reading it. The connection's window is this times
  /// max_concurrent_streams, so a stalled stream never closes it for the
  /// others.
  std::uint32_t stream_window = 256 * 1024;
  /// SETTINGS_MAX_HEADER_LIST_SIZE; a request past it gets 431. The core's
  /// Config::http_limits apply to an extended CONNECT too.
  std::uint32_t max_header_list_size = 64 * 1024;
  /// Rapid reset (CVE-2023-44487): streams a peer may reset in a burst, and
  /// per second after it; past them the connection ends with GOAWAY.
  std::uint64_t reset_burst = 1000;
  std::uint64_t reset_rate = 33;
  /// SETTINGS entries in one frame, unanswered PING and SETTINGS
  /// acknowledgements queued, CONTINUATION frames per header block. The
  /// acknowledgements a peer's burst asks for move to the output as the
  /// burst is read, so only a peer that does not read them (its output
  /// full) reaches max_outbound_ack, and its connection ends.
  std::size_t max_settings_entries = 32;
  std::size_t max_outbound_ack = 1000;
  std::size_t max_continuations = 8;
  /// Without TLS: accept HTTP/2 with prior knowledge (h2c). When false, a
  /// socket without TLS always speaks HTTP/1.1.
  bool cleartext_http2 = true;
  /// Called on the connection's thread for each request stream once its
  /// headers arrived; must not block.
  std::function<void(const RequestSeen&)> on_request;
};

/// The factory for DriverOptions::socket_driver: HTTP/2 and HTTP/1.1 on
/// one port.
std::shared_ptr<const SocketDriverFactory> server_protocols(ServerSettings settings = {});

}  // namespace ws::http2
