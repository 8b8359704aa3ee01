// The Redis backplane's machinery, independent of the event loop: two
// hiredis asynchronous connections (one publishes, one is subscribed: Redis
// lets a subscribed connection do nothing else), the outbox of publishes,
// the channels this server wants against those Redis confirmed, and the
// reconnect and stall timers. Thread-safe entry points take mutex_ and post
// to the loop; everything else runs on the loop thread.
//
// Every queue is bounded. While the publisher is up, the outbox plus the
// publishes written and not answered (in hiredis's output buffer and reply
// callbacks) stay within max_in_flight_messages / max_in_flight_bytes:
// publish() refuses past them (they can be exceeded only by what
// OutagePolicy::buffer kept during an outage, written at once on resuming).
// While it is down, the outbox holds at most buffer_messages / buffer_bytes
// (OutagePolicy::buffer) or nothing. A stall_timeout without any answer
// closes the publisher (check_stall), as a lost connection. The
// subscriber has at most one SUBSCRIBE or UNSUBSCRIBE in flight per channel
// (reconcile), so its queue is bounded by the channels this server has
// members in; changes_ is emptied at the next loop turn whatever Redis does.
// Posted tasks are coalesced (drain_posted_, changes_posted_).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "loop_driver.hpp"
#include "ws/redis/backplane.hpp"

struct redisAsyncContext;

namespace ws::redis::detail {

class Engine : public std::enable_shared_from_this<Engine> {
 public:
  Engine(std::unique_ptr<LoopDriver> driver, channels::Registry& registry,
         RedisBackplaneOptions options);
  /// Loop thread or loop not running: shuts down if shutdown() was not called.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // ---- Any thread ------------------------------------------------------------
  channels::PublishResult publish(std::string_view channel, MessageKind kind, ByteView payload);
  void change_subscription(std::string_view channel, bool wanted);
  /// Streams mode (a resumable registry): publishes are XADDed to a stream
  /// and published with their entry ID; see backplane.hpp.
  bool streams() const noexcept { return streams_; }
  /// Asks Redis for the channel's stream after `since` once the channel's
  /// subscription is in effect; answers with Registry::resume_answer.
  void fetch_since(std::string_view channel, std::uint64_t ticket,
                   std::optional<channels::Position> since);
  RedisBackplaneStats stats() const;
  /// Starts connecting once the loop runs.
  void start();

  // ---- Loop thread (or loop not running) -----------------------------------
  /// Closes both connections; nothing reconnects. Buffered publishes are
  /// reported as unsent.
  void shutdown();

 private:
  enum class Role : std::uint8_t { publisher, subscriber };
  struct Link {
    Engine* engine = nullptr;
    Role role = Role::publisher;
    redisAsyncContext* context = nullptr;
    std::unique_ptr<IoWatch> io;
    std::unique_ptr<LoopTimer> timer;  // connect timeout, then reconnect delay
    bool connected = false;
    bool ever_connected = false;
    bool read = false;
    bool write = false;
    std::chrono::milliseconds backoff{0};
  };
  enum class Remote : std::uint8_t { none, subscribing, subscribed, unsubscribing };
  struct ChannelState {
    bool wanted = false;
    Remote remote = Remote::none;
  };
  struct Outgoing {
    std::string channel;  // the Redis channel: prefix + name
    std::string body;     // kind byte ('t' or 'b') + payload
  };
  struct Change {
    std::string channel;
    bool wanted = false;
  };
  struct Fetch {
    std::string channel;  // the ws channel name
    std::uint64_t ticket = 0;
    std::optional<channels::Position> since;
  };

  // hiredis hooks and callbacks (C function pointers).
  static void add_read(void* data);
  static void del_read(void* data);
  static void add_write(void* data);
  static void del_write(void* data);
  static void cleanup(void* data);
  static void on_connected(const redisAsyncContext* context, int status);
  static void on_disconnected(const redisAsyncContext* context, int status);
  static void on_published(redisAsyncContext* context, void* reply, void* data);
  static void on_subscription(redisAsyncContext* context, void* reply, void* data);
  static void on_fetched(redisAsyncContext* context, void* reply, void* data);

  void try_fetches();
  void fail_fetches();
  void fetched(const Fetch& fetch, const void* reply);

  void post(void (Engine::*member)());
  void connect(Link& link);
  void schedule_connect(Link& link);
  void link_gone(Link& link);
  void link_up(Link& link);
  void resume_publishing();
  void drain_outbox();
  void publish_answered(std::size_t bytes, bool answered);
  void check_stall();
  void apply_changes();
  void reconcile_all();
  void reconcile(const std::string& channel);
  void send_subscription(const char* command, const std::string& channel);
  void handle_message(std::string_view redis_channel, std::string_view body);
  void subscription_reply(std::string_view kind, std::string_view redis_channel);
  void report_lost(LostReason reason, std::size_t count);
  void update_connection_signal();

  std::unique_ptr<LoopDriver> driver_;
  channels::Registry& registry_;
  const RedisBackplaneOptions options_;
  const bool streams_;
  const std::string stream_max_length_;  // MAXLEN ~ of every XADD
  const std::string fetch_count_;        // COUNT of a fetch's XRANGE
  const std::string stream_retention_;   // PEXPIRE of every XADD, ms (0: none)

  mutable std::mutex mutex_;  // guards the fields up to the next comment
  bool publisher_up_ = false;
  bool shut_down_ = false;
  bool drain_posted_ = false;
  bool changes_posted_ = false;
  std::deque<Outgoing> outbox_;
  std::size_t outbox_bytes_ = 0;  // payload bytes, as buffer_bytes counts them
  // Written to the publisher's hiredis context, no answer yet. Changed on the
  // loop thread only; publish() reads them to judge max_in_flight_*.
  std::size_t in_flight_ = 0;
  std::size_t in_flight_bytes_ = 0;
  std::vector<Change> changes_;
  std::vector<Fetch> fetches_;  // from fetch_since, taken by apply_changes

  // Loop thread only.
  Link publisher_;
  Link subscriber_;
  bool stopping_ = false;
  bool signalled_connected_ = false;
  std::size_t unconfirmed_ = 0;  // NULL replies seen while a connection is freed
  // stall_timeout: armed while publishes wait for an answer; progress is the
  // last answer, or the write that found none waiting.
  std::unique_ptr<LoopTimer> stall_timer_;
  bool stall_armed_ = false;
  std::chrono::steady_clock::time_point last_progress_{};
  std::unordered_map<std::string, ChannelState> channels_;
  std::vector<Fetch> waiting_fetches_;  // until their channel is subscribed

  // Counters (any thread reads).
  std::atomic<bool> subscriber_up_{false};
  std::atomic<std::size_t> subscribed_{0};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> confirmed_{0};
  std::atomic<std::uint64_t> received_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> lost_{0};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::uint64_t> stalls_{0};
};

}  // namespace ws::redis::detail
