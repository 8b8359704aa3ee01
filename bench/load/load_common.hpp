// What ws-load's two transports share: the options, the tally of opened,
// echoed and closed WebSockets that the main thread reads while a loop
// thread fills it, and the interface main() drives each run's phases
// through. HTTP/1.1 (one TCP connection per WebSocket, ws's EpollClient)
// lives in epoll_load.cpp; HTTP/2 (many WebSockets as streams of a few
// connections, nghttp2's client) in http2_load.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ws_load {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t connections = 10000;  // WebSockets, whatever carries them
  std::size_t messages = 100;
  std::size_t size = 64;
  std::size_t ramp_per_second = 2000;
  std::size_t in_flight = 2000;
  std::size_t window = 0;
  long server_pid = 0;
  int timeout_seconds = 120;
  std::size_t hold_ms = 0;
  bool signal_server = false;
  bool tls = false;
  std::string tls_ca;  // empty: the server's certificate is not checked
  bool http2 = false;
  std::size_t h2_connections = 10;  // with --http2: TCP connections
};

inline void put_u32(std::byte* out, std::uint32_t value) { std::memcpy(out, &value, sizeof value); }
inline std::uint32_t get_u32(const std::byte* in) {
  std::uint32_t value = 0;
  std::memcpy(&value, in, sizeof value);
  return value;
}

/// Every WebSocket's fate, whichever transport carries it. Message `seq` of
/// WebSocket `index` carries both numbers in its first 8 bytes; each must
/// come back exactly once. The vector is the loop thread's; the counters
/// are read by the main thread.
struct Tally {
  explicit Tally(const Options& o)
      : options(o), received(o.connections * o.messages), was_opened(o.connections) {}

  const Options& options;
  std::vector<std::uint8_t> received;    // [index * messages + seq]: times it came back
  std::vector<std::uint8_t> was_opened;  // [index]: 1 once it opened
  std::atomic<std::size_t> opened{0};
  std::atomic<std::size_t> failed{0};  // ended before it opened
  std::atomic<std::size_t> closed{0};
  std::atomic<std::size_t> ended_early{0};  // ended after opening, before the close phase
  std::atomic<std::size_t> echoed{0};
  std::atomic<std::size_t> duplicates{0};
  std::atomic<std::size_t> foreign{0};  // malformed or for another WebSocket
  std::atomic<bool> closing{false};
  std::mutex error_mutex;
  std::string first_error;

  void mark_opened(std::uint32_t index) {
    was_opened[index] = 1;
    opened.fetch_add(1);
  }

  void note_error(std::string_view text) {
    const std::lock_guard lock(error_mutex);
    if (first_error.empty()) first_error = text;
  }

  /// Writes message `seq` of WebSocket `index` into `payload` (its size is
  /// options.size; bytes past the first 8 are left as they are).
  static void stamp(std::span<std::byte> payload, std::uint32_t index, std::uint32_t seq) {
    put_u32(payload.data(), index);
    put_u32(payload.data() + 4, seq);
  }

  /// An echo arrived on WebSocket `index`: counts it. Returns false for a
  /// message that is not one of its own (counted as foreign).
  bool take_echo(std::uint32_t index, std::span<const std::byte> payload) {
    if (payload.size() != options.size || get_u32(payload.data()) != index) {
      foreign.fetch_add(1);
      return false;
    }
    const std::uint32_t seq = get_u32(payload.data() + 4);
    if (seq >= options.messages) {
      foreign.fetch_add(1);
      return false;
    }
    std::uint8_t& times = received[index * options.messages + seq];
    if (++times > 1) duplicates.fetch_add(1);
    echoed.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
};

/// One way of carrying the WebSockets. Each runs its own loop thread; these
/// calls come from the main thread, which watches the Tally in between.
class Transport {
 public:
  virtual ~Transport() = default;
  /// Starts opening every WebSocket and returns once each opened or failed,
  /// or at `deadline`.
  virtual void open_all(Clock::time_point deadline) = 0;
  /// WebSockets whose opening was started, and of those how many failed
  /// without ever reaching the Tally's closed count.
  virtual std::size_t started() const = 0;
  virtual std::size_t refused_at_once() const = 0;
  /// Each opened WebSocket sends its first messages (all of them without
  /// --window); the rest follow as echoes come back.
  virtual void send_all() = 0;
  /// Each opened WebSocket starts its close handshake.
  virtual void close_all() = 0;
  /// Ends the loop thread.
  virtual void stop() = 0;
  /// Report lines of its own.
  virtual void describe(std::FILE* out) const = 0;
  /// Its part of the RESULT line (" key=value...").
  virtual std::string result_fields() const = 0;
};

}  // namespace ws_load
