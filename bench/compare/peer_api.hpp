// The plain interface between the comparison benchmark (C++20) and the peer
// libraries. Boost.Beast and websocketpp are compiled in their own
// translation units (websocketpp's headers need C++17); the benchmark sees
// only a table of functions over opaque handles. Everything is
// single-threaded; a handle is used by one thread at a time.
//
// Bytes are `unsigned char` so that this header compiles as C++17 too.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>

namespace ws_bench {

struct PeerApi {
  const char* name;

  // A receiver is a server connection, past its opening handshake, fed
  // pre-built masked client frames.
  void* (*receiver_open)();
  // Feeds `size` bytes in pieces that end on multiples of `chunk`, and
  // reads until `messages` messages were delivered whole to the caller (text
  // is validated as UTF-8 by the peer); returns how many were. The same
  // receiver is fed the same frames again on each call: the bytes are a
  // whole number of frames, so the connection stays usable.
  std::size_t (*receiver_feed)(void* receiver, const unsigned char* data, std::size_t size,
                               std::size_t chunk, std::size_t messages);
  void (*receiver_close)(void* receiver);

  // A sender is a connection past its handshake, in the server role
  // (unmasked frames) or the client role (masked frames); what it writes is
  // counted and discarded.
  void* (*sender_open)(bool client_role);
  // Sends `count` binary messages of `size` bytes; returns the bytes
  // written (headers included), or 0 on error.
  std::size_t (*sender_send)(void* sender, const unsigned char* payload, std::size_t size,
                             std::size_t count);
  void (*sender_close)(void* sender);

  // A fan-out group: one server connection per subscriber.
  void* (*fanout_open)(std::size_t subscribers);
  // Sends one binary message to every subscriber the way the library's own
  // broadcast pattern does; returns the bytes written over all subscribers.
  std::size_t (*fanout_publish)(void* fanout, const unsigned char* payload, std::size_t size);
  void (*fanout_close)(void* fanout);

  // Opens `count` idle server connections past their handshake (for a heap
  // count by the caller) and stores sizeof of what the application keeps
  // per connection.
  void* (*idle_open)(std::size_t count, std::size_t* object_size);
  void (*idle_close)(void* set);
};

const PeerApi& beast_api();
const PeerApi& websocketpp_api();

// Where every library's output goes: copied into one 64 KiB buffer, as a
// socket write copies into the kernel, so a library that writes from the
// caller's buffer (Beast) is not credited with writes that touch nothing.
inline void copy_to_sink(const void* data, std::size_t size) {
  static unsigned char sink[64 * 1024];
  const auto* from = static_cast<const unsigned char*>(data);
  while (size > 0) {
    const std::size_t n = size < sizeof sink ? size : sizeof sink;
    std::memcpy(sink, from, n);
    from += n;
    size -= n;
  }
}

// The opening handshake request the receivers are given.
inline constexpr const char* upgrade_request =
    "GET /bench HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

// The 101 response to a client's request head (the Sec-WebSocket-Accept is
// computed with ws); used by the peers' client handshakes.
std::string switching_protocols_for(const std::string& request_head);

}  // namespace ws_bench
