// The permessage-deflate inflater (ws::deflate) on arbitrary bytes, and
// deflate then inflate on arbitrary messages.
//
// Input: byte 0 chooses the agreed parameters (window bits, context
// takeover) and the mode; byte 1 the output room per call; the rest is a
// sequence of messages separated by the byte 0xA5. In inflate mode each
// message is fed to a server's decoder as a compressed payload: it must
// end (finished or an error) without ever writing past the room it got,
// and stop at a 1 MiB cap as a Connection would. In round-trip mode each
// message is compressed by a client session and must inflate back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ws/deflate/deflate.hpp"

namespace {

constexpr std::size_t output_cap = 1 << 20;

std::vector<ws::ByteView> split_messages(ws::ByteView rest) {
  std::vector<ws::ByteView> messages;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= rest.size(); ++i) {
    if (i == rest.size() || rest[i] == std::byte{0xA5}) {
      messages.push_back(rest.subspan(start, i - start));
      start = i + 1;
    }
  }
  return messages;
}

// Feeds one message as a Connection does; returns the output, or nothing
// after an error or the cap.
bool inflate_message(ws::ExtensionSession& session, ws::ByteView in, std::size_t room,
                     std::vector<std::byte>* out) {
  std::vector<std::byte> buffer(room);
  std::size_t used = 0;
  std::size_t total = 0;
  for (;;) {
    const ws::CodecStep step = session.decode(in.subspan(used), buffer, true);
    if (step.produced > room || step.consumed > in.size() - used) std::abort();
    used += step.consumed;
    total += step.produced;
    if (out != nullptr)
      out->insert(out->end(), buffer.begin(),
                  buffer.begin() + static_cast<std::ptrdiff_t>(step.produced));
    if (step.error) return false;
    if (total > output_cap) return false;  // a Connection fails with 1009 here
    if (used == in.size() && step.finished) return true;
    if (step.consumed == 0 && step.produced == 0) std::abort();  // the contract says error
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned choice = data[0];
  ws::deflate::Parameters agreed;
  agreed.client_max_window_bits = 9 + static_cast<int>(choice % 7);
  agreed.server_max_window_bits = 9 + static_cast<int>((choice >> 3) % 7);
  agreed.client_no_context_takeover = (choice & 0x40U) != 0;
  agreed.server_no_context_takeover = agreed.client_no_context_takeover;
  const bool round_trip = (choice & 0x80U) != 0;
  const std::size_t room = 1 + data[1] * 17U;
  const ws::ByteView rest(reinterpret_cast<const std::byte*>(data) + 2, size - 2);

  auto server = ws::deflate::make_session(ws::Role::server, agreed);
  if (!round_trip) {
    for (const ws::ByteView message : split_messages(rest)) {
      if (!inflate_message(*server, message, room, nullptr)) break;
    }
    return 0;
  }
  auto client = ws::deflate::make_session(ws::Role::client, agreed);
  for (const ws::ByteView message : split_messages(rest)) {
    std::vector<std::byte> compressed;
    if (client->encode(message, true, compressed)) std::abort();
    std::vector<std::byte> back;
    if (!inflate_message(*server, compressed, room, &back)) std::abort();
    if (back.size() != message.size() ||
        (!back.empty() && std::memcmp(back.data(), message.data(), back.size()) != 0)) {
      std::abort();
    }
  }
  return 0;
}
