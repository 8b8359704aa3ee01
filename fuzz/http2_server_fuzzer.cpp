// ws::http2's server connection (the SocketDriver a server runs for each
// socket with HTTP/2 on) fed arbitrary bytes as a client's, in pieces the
// input chooses, with time moving: nghttp2 parses the frames; what is
// fuzzed is ws's glue around it (choosing the protocol, extended CONNECT to
// WebSocket, plain requests to on_http, each stream's Driver, windows,
// resets, GOAWAY, timers).
//
// Input: byte 0 is the piece size (1-64); bit 7 of byte 1 prepends the
// HTTP/2 client preface (most inputs then exercise HTTP/2, the rest the
// sniffing and HTTP/1.1); bit 6 asks for a graceful going-away halfway.
// Checks: no crash, leak or undefined behaviour (ASan, UBSan); every
// WebSocket that opened is told it closed exactly once, and none is told
// twice or without opening; the output waiting to be written stays bounded
// (the peer here reads everything at once).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string_view>

#include "http2_harness.hpp"
#include "ws/driver/driver.hpp"
#include "ws/http2/server.hpp"

namespace {

constexpr std::string_view preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct Ledger {
  std::map<const ws::Session*, int> state;  // 1 open, 2 closed
  void opened(const ws::Session* s) {
    if (state[s] != 0) std::abort();
    state[s] = 1;
  }
  void closed(const ws::Session* s) {
    if (state[s] != 1) std::abort();  // closed twice, or never opened
    state[s] = 2;
  }
  void check_all_closed() const {
    for (const auto& [session, value] : state) {
      if (value != 2) std::abort();
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t piece = static_cast<std::size_t>(data[0] % 64) + 1;
  const bool with_preface = (data[1] & 0x80) != 0;
  const bool go_away = (data[1] & 0x40) != 0;
  data += 2;
  size -= 2;

  Ledger ledger;
  auto handler = std::make_shared<ws::Handler>();
  handler->on_upgrade = [](const ws::UpgradeRequest& request) {
    if (request.path == "/refused") return ws::UpgradeDecision::reject(403, "no\n");
    ws::AcceptOptions options;
    options.subprotocols = {"chat"};
    return ws::UpgradeDecision::accept_with(options);
  };
  handler->on_http = [](const ws::HttpHead& head) {
    return ws::HttpAnswer{200, std::string(head.target), {{"content-type", "text/plain"}}};
  };
  handler->on_open = [&ledger](const ws::SessionPtr& s) { ledger.opened(s.get()); };
  handler->on_close = [&ledger](const ws::SessionPtr& s, const ws::Closed&) {
    ledger.closed(s.get());
  };
  handler->on_message = [](const ws::SessionPtr& s, const ws::Message& m) {
    (void)s->send_binary(m.payload);
  };
  ws::Config config = ws::server_config();
  config.serve_plain_http = true;
  config.timeouts.handshake_timeout = std::chrono::milliseconds(30);
  config.timeouts.idle_timeout = std::chrono::milliseconds(200);
  auto options = std::make_shared<ws::DriverOptions>();
  options->write_stall_timeout = std::chrono::milliseconds(100);
  ws::http2::ServerSettings settings;
  settings.max_concurrent_streams = 8;
  settings.stream_window = 4096;
  ws::Result<std::unique_ptr<ws::SocketDriver>> made = ws::http2::server_protocols(settings)->make(
      ws::SocketDriverContext{std::make_shared<const ws::Config>(config), handler, options,
                              std::make_shared<ws_fuzz::NoWake>()});
  if (!made) return 0;
  ws::SocketDriver& server = **made;

  ws::TimePoint now{std::chrono::seconds(1)};
  (void)server.step(now);
  if (with_preface) {
    (void)server.receive(
        ws::ByteView(reinterpret_cast<const std::byte*>(preface.data()), preface.size()));
  }
  std::size_t at = 0;
  bool went_away = false;
  while (at < size && !server.should_close_transport()) {
    const std::size_t n = std::min(piece, size - at);
    const std::size_t taken =
        server.receive(ws::ByteView(reinterpret_cast<const std::byte*>(data) + at, n));
    at += taken;
    (void)server.step(now);
    ws_fuzz::drain(server);
    if (go_away && !went_away && at >= size / 2) {
      went_away = true;
      server.close_going_away();
      (void)server.step(now);
      ws_fuzz::drain(server);
    }
    now += std::chrono::milliseconds(1);
    if (taken == 0 && !server.wants_read()) {
      // Reading is paused (backpressure, a full layer): time moves on.
      now += std::chrono::milliseconds(10);
      (void)server.step(now);
      ws_fuzz::drain(server);
      if (!server.wants_read()) break;
    }
  }
  // The peer goes away; timers run out.
  server.receive_eof();
  for (int i = 0; i < 8 && !server.should_close_transport(); ++i) {
    (void)server.step(now);
    ws_fuzz::drain(server);
    const std::optional<ws::TimePoint> next = server.next_deadline();
    if (next && *next < now) std::abort();  // a deadline in the past was left behind
    now = next ? *next : now + std::chrono::milliseconds(50);
  }
  server.transport_closed();
  ledger.check_all_closed();
  return 0;
}
