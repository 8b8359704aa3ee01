// RedisBackplane: channels shared by several ws servers through Redis
// pub/sub (ws/channels/backplane.hpp). Each server publishes to Redis and
// delivers what Redis hands back to its own members, framed once per server.
//
// Guarantees while Redis is up: every member of a channel on every server
// hears each message published to that channel exactly once, the publishing
// server's members included (they hear it when it comes back from Redis,
// not before), in the order each server published. While Redis is away,
// servers keep serving their own connections, reconnect with bounded
// backoff and subscribe again; a publish meanwhile follows OutagePolicy and
// is never lost without a report (an error to the publisher, or on_lost).
//
// It runs on the caller's event loop (on_epoll, and on_asio in
// ws/redis/asio_backplane.hpp) with no thread of its own, or on one
// backplane thread per process for the blocking thread-per-connection mode
// (on_own_thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ws/base/result.hpp"
#include "ws/channels/backplane.hpp"
#include "ws/channels/registry.hpp"

namespace ws::posix {
class EpollLoop;
}

namespace ws::redis {

namespace detail {
class Engine;
class LoopDriver;
}  // namespace detail

/// What a publish does while the connection to Redis is down.
enum class OutagePolicy : std::uint8_t {
  reject,  // fail at once with BackplaneErrc::unavailable
  buffer,  // keep it (bounded) and send it after reconnecting; buffer_full past the bound
  drop,    // fail with BackplaneErrc::dropped and call on_lost (for fire-and-forget callers)
};

/// Why published messages were lost; reported through on_lost.
enum class LostReason : std::uint8_t {
  dropped,      // policy drop during an outage
  unsent,       // accepted while connected, but the connection fell before they were written
  unconfirmed,  // written, but the connection fell before Redis answered: they may or may not
                // have been delivered
  refused,      // Redis answered PUBLISH with an error
};

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
};

/// Parses "redis://HOST:PORT" (also "redis://HOST", port 6379, and
/// "redis://[::1]:PORT"). Fails with std::errc::invalid_argument.
Result<RedisEndpoint> parse_redis_url(std::string_view url);

struct RedisBackplaneOptions {
  RedisEndpoint endpoint;
  /// Redis channel = prefix + ws channel name, so several applications can
  /// share one Redis.
  std::string channel_prefix = "ws:channel:";
  OutagePolicy outage = OutagePolicy::reject;
  /// OutagePolicy::buffer: at most this many messages and payload bytes.
  std::size_t buffer_messages = 1024;
  std::size_t buffer_bytes = 1024 * 1024;
  /// OutagePolicy::buffer: after reconnecting, buffered messages wait this
  /// long before they go out (new publishes queue behind them), so the other
  /// servers, retrying at most reconnect_max apart, have subscribed again.
  std::chrono::milliseconds buffer_resume_delay{2500};
  /// Reconnect delays: from reconnect_min doubling up to reconnect_max.
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{2000};
  /// A connection attempt that takes longer is abandoned and retried.
  std::chrono::milliseconds connect_timeout{2000};
  /// Lost publishes (see LostReason). Runs on the loop thread, except for
  /// OutagePolicy::drop, where it runs on the publishing thread. It must not
  /// destroy the backplane.
  std::function<void(LostReason reason, std::size_t count)> on_lost;
  /// Both connections up (true) or one of them lost (false). Loop thread;
  /// never called while the backplane is being destroyed.
  std::function<void(bool connected)> on_connection;
};

/// Counters since creation; any thread.
struct RedisBackplaneStats {
  bool publisher_connected = false;
  bool subscriber_connected = false;
  std::size_t subscribed_channels = 0;  // confirmed by Redis now
  std::size_t buffered = 0;             // waiting in the outbox now
  std::uint64_t published = 0;          // written to Redis
  std::uint64_t confirmed = 0;          // answered by Redis
  std::uint64_t received = 0;           // messages Redis handed to this server
  std::uint64_t failed = 0;             // publishes answered with an error
  std::uint64_t lost = 0;               // reported through on_lost
  std::uint64_t reconnects = 0;         // connections made after a loss
};

class RedisBackplane final : public channels::Backplane {
 public:
  /// Runs on `loop` (no thread of its own) and routes `registry`'s publishes
  /// through Redis until destroyed. Connecting starts when the loop runs.
  /// `registry` must outlive the backplane. Destroy the backplane on the
  /// loop thread or while the loop is not running, never inside on_lost.
  static std::unique_ptr<RedisBackplane> on_epoll(posix::EpollLoop& loop,
                                                  channels::Registry& registry,
                                                  RedisBackplaneOptions options);
  /// Runs on a thread of its own (one per process is enough: it serves every
  /// connection's channels), for servers without an event loop. May be
  /// destroyed from any thread but that one.
  static std::unique_ptr<RedisBackplane> on_own_thread(channels::Registry& registry,
                                                       RedisBackplaneOptions options);

  /// Built by the factories (here and in asio_backplane.hpp).
  RedisBackplane(channels::Registry& registry, std::shared_ptr<detail::Engine> engine,
                 std::function<void()> stop_thread);
  /// Detaches from the registry (waiting for publishes in progress), closes
  /// both Redis connections; buffered messages are reported as unsent.
  ~RedisBackplane() override;
  RedisBackplane(const RedisBackplane&) = delete;
  RedisBackplane& operator=(const RedisBackplane&) = delete;

  // channels::Backplane (any thread; the Registry calls them).
  channels::PublishResult publish(std::string_view channel, MessageKind kind,
                                  ByteView payload) override;
  void subscribe(std::string_view channel) override;
  void unsubscribe(std::string_view channel) override;

  RedisBackplaneStats stats() const;

 private:
  channels::Registry& registry_;
  std::shared_ptr<detail::Engine> engine_;
  std::function<void()> stop_thread_;  // on_own_thread: tears down and joins
};

}  // namespace ws::redis
