// A server Connection from its first byte: arbitrary bytes as the upgrade
// request (and whatever follows), in pieces of 1 to 31 bytes. Checks that:
//  - a valid request gives UpgradeRequested with a 24-character key, and the
//    101 answer carries Sec-WebSocket-Accept for that key (RFC 6455 4.2.2);
//  - an invalid one is answered with the status http_status_for() gives its
//    error (400, 426, 431, ...) and ends with Closed (handshake_failed);
//  - the answer is one HTTP head starting with a status line, no frame
//    precedes it (not even a pong for a ping sent right behind the request),
//    it never ends twice and stays within its input limit.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "check.hpp"
#include "ws/connection.hpp"

namespace {

using fuzz::check;

void take_output(ws::Connection& c, std::string& out) {
  for (const ws::OutputBuffer& piece : c.pending_output()) {
    out.append(reinterpret_cast<const char*>(piece.data), piece.size);
  }
  c.consume_output(c.pending_output_size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The transport writes after the events of each read are pulled, or with
  // WS_FUZZ_EAGER_WRITES=1 in the environment after every event.
  static const bool eager_writes = std::getenv("WS_FUZZ_EAGER_WRITES") != nullptr;
  ws::Config config;
  config.limits.max_buffered_input = 512;
  config.http_limits.max_head_size = 1024;
  config.http_limits.max_header_count = 16;
  ws::Connection c = ws::Connection::server(config);
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  std::size_t offset = 0;
  std::optional<ws::Closed> closed;
  std::string key;
  bool opened = false;
  std::string out;
  std::size_t step = 1;
  while (offset < size) {
    const std::size_t n = std::min(step, size - offset);
    const std::size_t taken = c.receive(ws::ByteView(bytes + offset, n));
    check(taken <= n);
    offset += taken;
    bool any = false;
    while (auto event = c.next_event()) {
      any = true;
      check(!closed);
      if (const auto* upgrade = std::get_if<ws::UpgradeRequested>(&*event)) {
        check(!opened && upgrade->request == c.request() && upgrade->request != nullptr);
        key = upgrade->request->key;
        check(key.size() == 24 && key.ends_with("=="));
        check(!c.accept());
      } else if (std::holds_alternative<ws::Opened>(*event)) {
        check(!key.empty() && !opened);
        opened = true;
      } else if (const auto* end = std::get_if<ws::Closed>(&*event)) {
        closed = *end;
      }
      if (eager_writes) take_output(c, out);
    }
    check(taken > 0 || any);  // stuck: took nothing, said nothing
    take_output(c, out);
    step = step * 3 % 31 + 1;
  }
  c.receive_eof();
  while (auto event = c.next_event()) {
    check(!closed);
    if (const auto* end = std::get_if<ws::Closed>(&*event)) closed = *end;
  }
  take_output(c, out);
  check(closed.has_value());
  check(c.should_close_transport());

  if (out.empty()) {
    // Nothing answered: the stream ended (or timed out) before a whole head.
    check(!opened && closed->error == ws::errc::unexpected_eof);
    return 0;
  }
  // The first bytes out are one HTTP head.
  if (std::getenv("FUZZ_TRACE") != nullptr) std::fprintf(stderr, "%s\n", out.c_str());
  check(out.starts_with("HTTP/1.1 "));
  const std::size_t head_end = out.find("\r\n\r\n");
  check(head_end != std::string::npos);
  const int status = std::stoi(out.substr(9, 3));
  if (opened) {
    check(status == 101);
    check(out.find("\r\nSec-WebSocket-Accept: " + ws::compute_accept_key(key) + "\r\n") < head_end);
  } else {
    check(closed->error == ws::condition::handshake_failed);
    check(status == ws::http_status_for(closed->error));
  }
  return 0;
}
