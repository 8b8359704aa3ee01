// A server Connection after a valid opening handshake, fed arbitrary bytes
// as frames, cut where the input says (connection_harness.hpp has the input
// layout and the checks). With the target_specific flag the upgrade request
// arrives in the same read as the first frame bytes.
#include <cstddef>
#include <cstdint>
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::Script script = fuzz::read_script(data, size);
  ws::Connection c = ws::Connection::server(fuzz::make_config(script.flags));
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
  // RFC 6455 4.2.2: the 101 answer carries the accept value for the key.
  const std::string& head = harness.wire().head();
  fuzz::check(head.starts_with("HTTP/1.1 101 "));
  fuzz::check(head.find("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") !=
              std::string::npos);
  return 0;
}
