// A server Connection from its first byte: arbitrary bytes as the upgrade
// request (and whatever follows). It answers with a valid HTTP status line
// or upgrades, never ends twice, and stays within its input limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "ws/connection.hpp"

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ws::Config config;
  config.limits.max_buffered_input = 512;
  config.http_limits.max_head_size = 1024;
  config.http_limits.max_header_count = 16;
  ws::Connection c = ws::Connection::server(config);
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  std::size_t offset = 0;
  bool closed = false;
  bool answered = false;
  std::size_t step = 1;
  while (offset < size) {
    const std::size_t taken =
        c.receive(ws::ByteView(bytes + offset, std::min(step, size - offset)));
    offset += taken;
    bool any = false;
    while (auto event = c.next_event()) {
      any = true;
      check(!closed);
      if (std::holds_alternative<ws::UpgradeRequested>(*event)) {
        check(c.accept() == std::error_code{});
      } else if (std::holds_alternative<ws::Closed>(*event)) {
        closed = true;
      }
    }
    if (taken == 0 && !any) std::abort();
    if (!answered && c.pending_output_size() > 0) {
      // The first bytes out are an HTTP status line.
      const ws::OutputBuffer first = c.pending_output().front();
      const std::string_view head(reinterpret_cast<const char*>(first.data), first.size);
      check(head.substr(0, 9) == "HTTP/1.1 ");
      answered = true;
    }
    c.consume_output(c.pending_output_size());
    step = step * 3 % 31 + 1;
  }
  c.receive_eof();
  while (auto event = c.next_event()) {
    check(!closed);
    closed = std::holds_alternative<ws::Closed>(*event);
  }
  check(closed);
  return 0;
}
