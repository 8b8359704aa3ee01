// A client Connection fed an arbitrary answer to its upgrade request, then
// frames, cut where the input says (connection_harness.hpp has the input
// layout and the checks). The key is deterministic (bytes 0..15), so seeds
// carry the right Sec-WebSocket-Accept. With the target_specific flag a
// valid 101 answer is sent before the input's bytes, so the fuzzer can spend
// its effort on frames.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connection_harness.hpp"

namespace {

// The accept value for the key AAECAwQFBgcICQoLDA0ODw== (RFC 6455 4.2.2).
constexpr std::string_view valid_response =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: Bz3qJYTGdOe8gUSpLosEdiLKDrk=\r\n"
    "\r\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::Script script = fuzz::read_script(data, size);
  ws::ClientHandshakeOptions options;
  options.subprotocols = {"chat", "superchat"};
  ws::Result<ws::Connection> client =
      ws::Connection::client("ws://example.com/chat", options, fuzz::make_config(script));
  fuzz::check(client.has_value());
  ws::Connection& c = *client;
  fuzz::Harness harness(c, script, /*expect_http_head=*/true);
  // No answer can come before the request has gone out.
  harness.write_output();
  if ((script.flags & fuzz::target_specific) != 0) harness.set_prefix(ws::as_bytes(valid_response));
  harness.run();
  // RFC 6455 4.1: the request went out first, with the deterministic key.
  const std::string& head = harness.wire().head();
  fuzz::check(head.starts_with("GET /chat HTTP/1.1\r\n"));
  fuzz::check(head.find("\r\nSec-WebSocket-Key: AAECAwQFBgcICQoLDA0ODw==\r\n") !=
              std::string::npos);
  return 0;
}
