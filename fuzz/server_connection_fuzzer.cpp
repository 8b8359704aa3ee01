// A server Connection after a valid opening handshake, fed arbitrary bytes
// as frames, cut where the input says (connection_harness.hpp has the input
// layout and the checks). How the handshake happens:
//  - the second target-specific bit and the target_specific flag: the
//    WebSocket is carried by an HTTP/2 stream (RFC 8441), made by
//    server_for_stream() and accepted, so no HTTP bytes go out;
//  - the second bit alone: the application read the request itself and
//    calls accept_upgrade() with the first piece of the stream as the bytes
//    it read past the head (the request offers a subprotocol);
//  - the target_specific flag alone: the upgrade request arrives in the same
//    read as the first frame bytes;
//  - neither: the request is read and accepted before the stream.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "connection_harness.hpp"

namespace {

// RFC 6455 1.3's example key; its accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
constexpr std::string_view request =
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

constexpr std::string_view request_with_subprotocol =
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Protocol: chat\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

// The server the second way: the request head was read by the application;
// `script`'s first piece is what it read past the head, and the rest arrives
// cut by the chunk sizes as usual (starting again from the first).
int fuzz_accept_upgrade(fuzz::Script script) {
  std::size_t first = script.stream.size();
  if (!script.chunks.empty() && script.chunks[0] != 0) {
    first = std::min<std::size_t>(script.chunks[0], first);
  }
  const ws::ByteView after_head = script.stream.first(first);
  script.stream = script.stream.subspan(first);
  ws::AcceptOptions options;
  options.subprotocols = {"superchat", "chat"};
  ws::Result<ws::Connection> accepted = ws::Connection::accept_upgrade(
      request_with_subprotocol, after_head, options, fuzz::make_config(script));
  fuzz::check(accepted.has_value());
  ws::Connection& c = *accepted;
  fuzz::Harness harness(c, script, /*expect_http_head=*/true);
  harness.mark_accepted();
  harness.run();
  // The 101 went out first, choosing the one subprotocol offered.
  const std::string& head = harness.wire().head();
  fuzz::check(head.starts_with("HTTP/1.1 101 "));
  fuzz::check(head.find("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") !=
              std::string::npos);
  fuzz::check(head.find("\r\nSec-WebSocket-Protocol: chat\r\n") != std::string::npos);
  return 0;
}

// The server the third way: an HTTP/2 layer handed over an extended CONNECT
// (RFC 8441); the answer is a StreamAnswer, and the stream's DATA are the
// script's stream. The frame checks are the same; no HTTP head is written.
int fuzz_stream(const fuzz::Script& script) {
  ws::ExtendedConnectRequest connect;
  connect.method = "CONNECT";
  connect.protocol = "websocket";
  connect.scheme = "https";
  connect.authority = "server.example.com";
  connect.path = "/chat";
  connect.headers = {{"sec-websocket-version", "13"}, {"sec-websocket-protocol", "chat"}};
  ws::Result<ws::Connection> made = ws::Connection::server_for_stream(
      connect, std::make_shared<const ws::Config>(fuzz::make_config(script)));
  fuzz::check(made.has_value());
  ws::Connection& c = *made;
  std::optional<ws::Event> event = c.next_event();
  fuzz::check(event && std::holds_alternative<ws::UpgradeRequested>(*event));
  ws::AcceptOptions options;
  options.subprotocols = {"chat"};
  fuzz::check(!c.accept(options));
  const std::optional<ws::StreamAnswer> answer = c.take_stream_answer();
  fuzz::check(answer && answer->status == 200 && c.pending_output_size() == 0);
  event = c.next_event();
  fuzz::check(event && std::holds_alternative<ws::Opened>(*event));
  fuzz::Harness harness(c, script, /*expect_http_head=*/false);
  harness.mark_opened();
  harness.run();
  fuzz::check(harness.wire().head().empty());
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::Script script = fuzz::read_script(data, size);
  if (script.target_specific_2) {
    return (script.flags & fuzz::target_specific) != 0 ? fuzz_stream(script)
                                                       : fuzz_accept_upgrade(script);
  }
  ws::Connection c = ws::Connection::server(fuzz::make_config(script));
  fuzz::Harness harness(c, script, /*expect_http_head=*/true);
  if ((script.flags & fuzz::target_specific) != 0) {
    harness.set_prefix(ws::as_bytes(request));
  } else {
    fuzz::check(c.receive(ws::as_bytes(request)) == request.size());
    std::optional<ws::Event> event = c.next_event();
    fuzz::check(event && std::holds_alternative<ws::UpgradeRequested>(*event));
    fuzz::check(!c.accept());
    event = c.next_event();
    fuzz::check(event && std::holds_alternative<ws::Opened>(*event));
    harness.mark_opened();
    // The events of the read that held the request were pulled, so the
    // transport has written the 101 before the frames arrive.
    harness.write_output();
  }
  harness.run();
  const std::string& head = harness.wire().head();
  if (harness.closed().error == ws::errc::handshake_timeout) {
    // The request had not all arrived when the time was up: no answer.
    fuzz::check(head.empty() && !harness.wire().head_done());
    return 0;
  }
  // RFC 6455 4.2.2: the 101 answer carries the accept value for the key.
  fuzz::check(head.starts_with("HTTP/1.1 101 "));
  fuzz::check(head.find("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") !=
              std::string::npos);
  return 0;
}
