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
// While Redis is connected but does not keep up (stopped, overloaded, gone
// without closing the connection), what waits for it is bounded
// (max_in_flight_messages, max_in_flight_bytes: past them a publish fails
// with BackplaneErrc::buffer_full), and a Redis that answers nothing for
// stall_timeout is treated as lost.
//
// Streams mode, for a resumable registry (RegistryOptions::resumable,
// docs/resume.md): every publish is one script in Redis that XADDs the
// message to a stream named like the channel (prefix + name; MAXLEN ~ the
// registry's HistoryLimits::max_messages) and PUBLISHes it with the entry ID
// Redis assigned, "<ms>-<seq>", which becomes its position ({ms, seq}); so
// every node hands out the same positions, in the same order. A member that
// joins with a position gets the stream after it (XRANGE, in a script that
// also reads the last ID and the highest trimmed ID), fetched only once the
// node's SUBSCRIBE is confirmed, joined with the live messages by position.
// Live messages keep coming through pub/sub (one hop, pushed, as before)
// rather than XREAD: pub/sub order is ID order because the same script
// publishes them. When the subscribing connection is lost, messages of that
// outage never reach the node: every resumable member is told to resume
// (closed with 1013) instead of being left with a hole. The byte limit of
// HistoryLimits does not apply to the stream (Redis trims by count only).
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
#include <optional>
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
  dropped,      // policy drop: during an outage, or refused at max_in_flight_*
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
  /// Streams mode (a resumable Registry): every publish sets the stream
  /// key's time to live to this (PEXPIRE), so a channel nobody publishes to
  /// for that long is forgotten by Redis (clients inventing channel names
  /// would otherwise leave a stream per name forever). A client resuming it
  /// afterwards gets an other_epoch gap. Default 24 h; 0: never expires.
  std::chrono::milliseconds stream_retention{std::chrono::hours(24)};
  OutagePolicy outage = OutagePolicy::reject;
  /// OutagePolicy::buffer: at most this many messages and payload bytes.
  std::size_t buffer_messages = 1024;
  std::size_t buffer_bytes = 1024 * 1024;
  /// OutagePolicy::buffer: after reconnecting, buffered messages wait this
  /// long before they go out (new publishes queue behind them), so the other
  /// servers, retrying at most reconnect_max apart, have subscribed again.
  std::chrono::milliseconds buffer_resume_delay{2500};
  /// While the publishing connection is up: at most this many messages and
  /// payload bytes accepted and not yet answered by Redis (waiting in the
  /// outbox, or written: in hiredis's output buffer, in the socket buffers,
  /// or read by Redis but not answered). A Redis that is connected but does
  /// not read (stopped, swapping, overloaded, or a peer that vanished
  /// without closing the connection) would otherwise make the server keep
  /// every publish; past either bound a publish fails with
  /// BackplaneErrc::buffer_full (under OutagePolicy::drop on_lost hears it as
  /// LostReason::dropped too) and counts in RedisBackplaneStats::rejected.
  /// A single payload larger than max_in_flight_bytes is always refused.
  ///
  /// Memory held for Redis is then proportional to the bounds: per message
  /// in flight its payload, its Redis channel name and about 150 bytes of
  /// bookkeeping (the outbox entry, or the command's framing in hiredis's
  /// buffer and its reply callback); with the defaults some 7 MB, up to
  /// twice that at the peak (hiredis's buffer grows by doubling, and a batch
  /// is held twice while copied into it); the kernel's socket buffers come
  /// on top. Estimated from the code (docs/scaling.md). The defaults
  /// are far above what a healthy Redis ever has outstanding (its answers
  /// come within a round trip), so a burst of thousands of small publishes
  /// handled in one loop turn is not refused; lower them to bound memory
  /// more tightly. Reaching the bound does not close the connection (see
  /// stall_timeout). After reconnecting with OutagePolicy::buffer, what was
  /// buffered (at most buffer_messages, buffer_bytes) is written at once and
  /// counts against these bounds.
  std::size_t max_in_flight_messages = 16 * 1024;
  std::size_t max_in_flight_bytes = 4 * 1024 * 1024;
  /// A Redis that answers none of the written PUBLISHes for this long (from
  /// the first one written while none was pending, or from its last answer)
  /// is treated as lost: the publishing connection is closed, its unanswered
  /// publishes are reported as LostReason::unconfirmed, and it reconnects
  /// with the backoff below. Checked only while publishes wait for an
  /// answer, so an idle connection is never judged; a slow Redis that keeps
  /// answering is not stalled. A few seconds: longer than Redis's own
  /// pauses (a fork for a snapshot, a slow command or fsync) and short
  /// enough that publishers see errors instead of waiting for a Redis that
  /// went away without closing the connection. Zero turns the check off.
  std::chrono::milliseconds stall_timeout{5000};
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

/// State now and counters since creation; any thread.
struct RedisBackplaneStats {
  bool publisher_connected = false;
  bool subscriber_connected = false;
  std::size_t subscribed_channels = 0;  // confirmed by Redis now
  std::size_t buffered = 0;             // waiting in the outbox now
  std::size_t buffered_bytes = 0;       // their payload bytes
  std::size_t unconfirmed = 0;          // written to Redis now, not answered yet
  std::size_t unconfirmed_bytes = 0;    // their payload bytes
  std::uint64_t published = 0;          // written to Redis
  std::uint64_t confirmed = 0;          // answered by Redis
  std::uint64_t received = 0;           // messages Redis handed to this server
  std::uint64_t failed = 0;             // publishes answered with an error
  std::uint64_t rejected = 0;           // of those, refused at max_in_flight_*
  std::uint64_t lost = 0;               // reported through on_lost
  std::uint64_t reconnects = 0;         // connections made after a loss
  std::uint64_t stalls = 0;             // connections closed after stall_timeout
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
  /// True for a resumable registry (streams mode, see the top of this file).
  bool assigns_positions() const noexcept override;
  void fetch_since(std::string_view channel, std::uint64_t ticket,
                   std::optional<channels::Position> since) override;

  RedisBackplaneStats stats() const;

 private:
  channels::Registry& registry_;
  std::shared_ptr<detail::Engine> engine_;
  std::function<void()> stop_thread_;  // on_own_thread: tears down and joins
};

}  // namespace ws::redis
