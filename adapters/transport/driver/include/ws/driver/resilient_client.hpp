// ResilientClient: a client that follows redirects and reconnects over any
// transport. The decisions are ClientSupervisor's (ws/driver/
// client_supervisor.hpp); this class turns them into calls of three hooks a
// transport supplies (start a connection, wait, run on the owner thread)
// and into the application's events. Ready-made: ws::posix::
// connect_resilient (blocking threads), ws::posix::start_resilient (epoll),
// ws::uring::start_resilient (io_uring).
//
// What the application sees:
//  - its Handler, for every connection that is not a followed redirect:
//    on_open with the new Session each time one opens, on_message..., and
//    on_close when that connection ends (then one of the events below says
//    what comes next). A followed redirect's Rejected and end are not shown;
//    on_redirect reports it. A refusal that is not followed is (on_rejected
//    with the whole response, then on_close).
//  - on_reconnecting (attempt N, the delay, how the last one ended), then
//    on_reconnected when attempt N opened (after on_open), or on_gave_up
//    once, at the end, whatever the reason (also after stop()).
//
// Messages sent while disconnected: not kept. A Session belongs to one
// connection; sends on one that ended fail with errc::not_open, and what a
// connection had queued but not written when it broke is lost with it.
// The library cannot know what the server received, so it does not guess:
// the application keeps what it must deliver and sends it again in on_open
// (ws-client keeps the standard-input lines it could not send yet). Each
// connection's Session is new and reaches the application in on_open.
//
// Thread safety: start() on the owner thread (the loop's, or the thread
// that runs the blocking connections); stop(), session() and finished()
// from any thread. Handler and events run on the owner thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>

#include "ws/driver/client_supervisor.hpp"
#include "ws/driver/handler.hpp"
#include "ws/driver/session.hpp"

namespace ws {

struct ReconnectingEvent {
  std::uint32_t attempt = 0;  // from 1
  Duration delay{0};          // before connecting again
  ConnectionEnd end{};        // how the last connection (or connect) ended
  std::string url;            // where the next one goes
};

struct GaveUpEvent {
  GiveUpReason reason = GiveUpReason::none;
  ConnectionEnd end{};      // how the last connection ended
  std::error_code error{};  // a refused redirect's redirect_errc, or the end's error
  std::uint32_t attempts = 0;
};

/// The application's view of the supervision; every member optional.
struct ResilienceEvents {
  /// Before every connect (the first, each reconnection, each redirect
  /// followed), on the owner thread: `target` is what the supervisor chose
  /// and may be changed for this connect only (a resuming channel client
  /// puts its last position in the query, ?since=POS, docs/resume.md; a
  /// token may be refreshed in the handshake's fields). The next target
  /// starts again from the supervisor's URL, and redirects are resolved
  /// against it. `attempt`: 0 for the first connection, N for
  /// reconnection attempt N.
  std::function<void(ConnectTarget& target, std::uint32_t attempt)> on_connecting;
  std::function<void(const ReconnectingEvent&)> on_reconnecting;
  /// Reconnection attempt `attempt` opened; on_open ran with `session`.
  std::function<void(const SessionPtr& session, std::uint32_t attempt)> on_reconnected;
  /// A redirect with `status` from `from` to `to` is being followed.
  std::function<void(std::string_view from, std::string_view to, int status)> on_redirect;
  /// No more connections. Called once; nothing follows.
  std::function<void(const GaveUpEvent&)> on_gave_up;
};

struct ResilientOptions {
  SupervisorSettings supervisor{};
  /// For the jitter; empty: system_random_source().
  RandomSource random{};
};

class ResilientClient : public std::enable_shared_from_this<ResilientClient> {
  struct Key {
    explicit Key() = default;
  };

 public:
  /// What the transport does for it: connect and wait are called on the
  /// owner thread, post from any thread (stop()).
  struct Hooks {
    /// Starts a connection to target.url with target.handshake, whose
    /// callbacks go to `handler` on the owner thread. An error when it could
    /// not start (then no callback follows). A transport that learns of a
    /// failure only later without calling on_close reports it with
    /// connect_failed().
    std::function<std::error_code(const ConnectTarget& target, Handler handler)> connect;
    /// Calls `then` on the owner thread once `delay` has passed.
    std::function<void(Duration delay, std::function<void()> then)> wait;
    /// Runs `task` on the owner thread soon; called from any thread.
    std::function<void(std::function<void()> task)> post;
    /// The clock; empty: Clock::now.
    std::function<TimePoint()> now;
  };

  ResilientClient(Key, std::string url, ClientHandshakeOptions handshake, Handler handler,
                  ResilienceEvents events, ResilientOptions options, Hooks hooks);

  static std::shared_ptr<ResilientClient> make(std::string url, ClientHandshakeOptions handshake,
                                               Handler handler, ResilienceEvents events,
                                               ResilientOptions options, Hooks hooks);

  /// Owner thread: the first connect (or on_gave_up with errc::invalid_url).
  void start();
  /// Any thread: no further connection. Closes the open session with 1000;
  /// a wait in progress ends at once; on_gave_up (closed_by_application)
  /// follows on the owner thread.
  void stop();
  /// Owner thread: the connect started by Hooks::connect failed with
  /// `error` without an on_close.
  void connect_failed(std::error_code error);

  /// Any thread: the session of the open connection; null between them.
  SessionPtr session() const;
  /// Any thread: on_gave_up ran.
  bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }

 private:
  Handler wrap();
  void apply(SupervisorStep step);
  TimePoint now() const { return hooks_.now ? hooks_.now() : Clock::now(); }

  ClientSupervisor supervisor_;
  Handler handler_;
  ResilienceEvents events_;
  Hooks hooks_;
  std::string last_url_;               // owner thread: the URL of the last connect
  std::uint64_t wait_generation_ = 0;  // owner thread: a stale wait does nothing
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};
  mutable std::mutex mutex_;
  SessionPtr session_;  // guarded by mutex_
};

}  // namespace ws
