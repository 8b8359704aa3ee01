// ws::http2's client connection (two WebSockets opened on it) fed arbitrary
// bytes as the server's, in pieces the input chooses, with time moving:
// nghttp2 parses the frames; what is fuzzed is ws's glue (SETTINGS before
// the extended CONNECTs, answers to the Connection, rejections and their
// bodies, each stream's Driver, windows, resets, GOAWAY, timers).
//
// Input: byte 0 is the piece size (1-64); the rest is the server's stream.
// Checks: no crash, leak or undefined behaviour (ASan, UBSan); every
// WebSocket opened is told it closed exactly once (a client session always
// is, RFC 6455 or not); the client's output stays bounded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>

#include "http2_harness.hpp"
#include "ws/driver/driver.hpp"
#include "ws/http2/client.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t piece = static_cast<std::size_t>(data[0] % 64) + 1;
  ++data;
  --size;

  std::map<const ws::Session*, int> closes;
  auto handler = std::make_shared<ws::Handler>();
  handler->on_close = [&closes](const ws::SessionPtr& s, const ws::Closed&) {
    if (++closes[s.get()] != 1) std::abort();  // told twice
  };
  handler->on_message = [](const ws::SessionPtr& s, const ws::Message& m) {
    (void)s->send_binary(m.payload);
  };
  ws::Config config;
  config.timeouts.handshake_timeout = std::chrono::milliseconds(30);
  config.timeouts.idle_timeout = std::chrono::milliseconds(200);
  auto options = std::make_shared<ws::DriverOptions>();
  options->write_stall_timeout = std::chrono::milliseconds(100);
  ws::http2::ClientSettings settings;
  settings.stream_window = 4096;
  settings.max_rejection_body = 1024;
  ws::Result<std::unique_ptr<ws::http2::ClientConnection>> made = ws::http2::ClientConnection::make(
      ws::SocketDriverContext{std::make_shared<const ws::Config>(config), handler, options,
                              std::make_shared<ws_fuzz::NoWake>()},
      settings);
  if (!made) return 0;
  ws::http2::ClientConnection& client = **made;
  ws::ClientHandshakeOptions chat;
  chat.subprotocols = {"chat"};
  const ws::SessionPtr first = *client.open("ws://server.example/a", chat);
  const ws::SessionPtr second = *client.open("ws://server.example/b?x=1");
  (void)first->send_text("queued before the answer");

  ws::TimePoint now{std::chrono::seconds(1)};
  (void)client.step(now);
  ws_fuzz::drain(client);
  std::size_t at = 0;
  while (at < size && !client.should_close_transport()) {
    const std::size_t n = std::min(piece, size - at);
    const std::size_t taken =
        client.receive(ws::ByteView(reinterpret_cast<const std::byte*>(data) + at, n));
    at += taken;
    (void)client.step(now);
    ws_fuzz::drain(client);
    now += std::chrono::milliseconds(1);
    if (taken == 0) {
      now += std::chrono::milliseconds(10);
      (void)client.step(now);
      ws_fuzz::drain(client);
      if (!client.wants_read()) break;
    }
  }
  client.receive_eof();
  for (int i = 0; i < 8 && !client.should_close_transport(); ++i) {
    (void)client.step(now);
    ws_fuzz::drain(client);
    const std::optional<ws::TimePoint> next = client.next_deadline();
    now = next && *next > now ? *next : now + std::chrono::milliseconds(50);
  }
  client.transport_closed();
  for (const ws::SessionPtr& session : {first, second}) {
    if (closes[session.get()] != 1) std::abort();  // never told
  }
  return 0;
}
