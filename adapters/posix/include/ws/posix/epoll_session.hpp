// EpollSession: the application's handle on one connection of an EpollLoop,
// and EpollHandler: the callbacks the loop makes for it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "ws/base/bytes.hpp"
#include "ws/channels/subscriber.hpp"
#include "ws/channels/subscriber_queue.hpp"
#include "ws/connection_state.hpp"
#include "ws/event.hpp"
#include "ws/frame/close_code.hpp"
#include "ws/handshake/server_handshake.hpp"
#include "ws/message/prepared_message.hpp"

namespace ws::posix {

namespace detail {
class EpollLoopCore;
class EpollWatcher;
class EpollConnection;
}  // namespace detail

enum class SessionState : std::uint8_t {
  connecting,  // TCP connect or opening handshake in progress
  open,        // on_open was called; data flows
  closing,     // a close was requested or sent; no more sends
  closed,      // the connection ended (on_close was called if on_open was)
};

/// One connection served by an EpollLoop. The loop thread owns the socket
/// and the ws::Connection; everyone talks to the connection through this
/// object, which the application may keep and share (std::shared_ptr).
///
/// Thread-safety: every member may be called from any thread at any time,
/// also after the connection ended (sends then fail with errc::not_open).
/// Nothing here blocks on a socket: a message is framed (server side; a
/// client's payload is masked by the loop) and put into the session's
/// bounded channels::SubscriberQueue, and the loop is woken once for however
/// many messages are queued before it runs. Messages sent from one thread go
/// out in the order they were sent; published channel messages (deliver)
/// travel the same queue.
///
/// Backpressure: the queue plus the connection's unwritten output are
/// judged against BackpressureLimits::high_water. Past it the
/// slow-subscriber policy applies: drop_messages makes the send fail with
/// errc::output_queue_full and counts it (dropped_count()); a close policy
/// fails the send the same way and closes the connection with 1013 or 1008.
/// Before that, the loop calls EpollHandler::on_backpressure(session, true)
/// and stops reading from the peer when the unwritten output passes the
/// midpoint between low_water and high_water (so an application that
/// listens can slow down before the policy applies), and calls
/// on_backpressure(session, false) and resumes reading when it falls to
/// low_water.
class EpollSession final : public channels::Subscriber,
                           public std::enable_shared_from_this<EpollSession> {
  struct Key {
    explicit Key() = default;
  };

 public:
  /// Built by the adapter only (see the Key).
  EpollSession(Key, Role role, const channels::BackpressureLimits& limits,
               std::shared_ptr<detail::EpollLoopCore> loop);
  ~EpollSession() override;
  EpollSession(const EpollSession&) = delete;
  EpollSession& operator=(const EpollSession&) = delete;

  // ---- Sending, from any thread ------------------------------------------
  // Each returns an empty error_code once the message is queued, or
  //   errc::not_open          - closing or ended (a client may send while
  //                             connecting: the message waits for on_open)
  //   errc::output_queue_full - past the high-water mark (policy applied)

  std::error_code send_text(std::string_view text);
  std::error_code send_binary(ByteView data);
  /// Queues a frame prepared once for many connections (a client sends its
  /// payload as a masked frame of the same kind).
  std::error_code send(const std::shared_ptr<const PreparedMessage>& message);

  /// Starts the close handshake after the messages already queued. Errors,
  /// checked at once: errc::close_code_not_sendable, errc::close_reason_too_long,
  /// errc::close_reason_not_utf8, errc::not_open when a close was already
  /// requested or the connection ended. Closing a client that is still
  /// connecting drops the connection (on_close reports
  /// std::errc::operation_canceled).
  std::error_code close(CloseCode code = CloseCode::normal, std::string_view reason = {});
  std::error_code close(std::uint16_t code, std::string_view reason = {});

  /// Drops the connection now, without a close handshake; on_close reports
  /// std::errc::operation_canceled.
  void abort();

  /// channels::Subscriber: queues a published message. False when it was
  /// not queued (closing, ended, dropped or over the limit).
  bool deliver(const std::shared_ptr<const PreparedMessage>& message) override;

  // ---- Observers, any thread ---------------------------------------------

  Role role() const noexcept { return role_; }
  SessionState state() const noexcept { return state_.load(std::memory_order_acquire); }
  bool is_open() const noexcept { return state() == SessionState::open; }
  /// Bytes waiting for this connection: queued messages plus the
  /// connection's unwritten output (as last published by the loop).
  std::size_t backlog_bytes() const;
  /// Messages the drop_messages policy dropped.
  std::uint64_t dropped_count() const noexcept { return queue_.dropped_count(); }
  /// True once the slow-subscriber close policy fired.
  bool over_limit() const noexcept { return queue_.over_limit(); }

  /// Server: the upgrade request (path, query, Origin, headers); null for a
  /// client. Set before on_open and unchanged afterwards.
  const UpgradeRequest* request() const noexcept { return request_.get(); }
  /// The agreed subprotocol; empty when none. Set before on_open.
  const std::string& subprotocol() const noexcept { return subprotocol_; }

 private:
  friend class detail::EpollConnection;

  struct CloseRequest {
    std::uint16_t code = 1000;
    std::string reason;
  };

  std::error_code push(const std::shared_ptr<const PreparedMessage>& message);
  void wake();

  const Role role_;
  channels::SubscriberQueue queue_;
  std::shared_ptr<detail::EpollLoopCore> loop_;
  std::weak_ptr<detail::EpollWatcher> owner_;  // set once by the adapter before use
  std::atomic<SessionState> state_{SessionState::connecting};
  std::atomic<std::size_t> owner_pending_{0};
  std::atomic<bool> wake_pending_{false};
  std::unique_ptr<const UpgradeRequest> request_;
  std::string subprotocol_;

  std::mutex mutex_;  // guards what follows
  std::optional<CloseRequest> close_request_;
  bool closing_ = false;  // close requested, or the connection is closing/ended
  bool abort_requested_ = false;
};

using EpollSessionPtr = std::shared_ptr<EpollSession>;

/// What the application does with connections. Every callback runs on the
/// loop thread, one at a time; an empty std::function does nothing. Views
/// inside the events are valid only during the call; copy what you keep.
/// Callbacks may use any session (send, close), publish to channels, post()
/// and stop() the loop; they must not destroy the loop.
///
/// on_open is called once when the handshake completes; on_close exactly
/// once for every session whose on_open was called and for every client
/// session (a refused connect too), and nothing follows on_close.
struct EpollHandler {
  std::function<void(const EpollSessionPtr&)> on_open;
  std::function<void(const EpollSessionPtr&, const Message&)> on_message;
  std::function<void(const EpollSessionPtr&, const Closed&)> on_close;
  /// true: the unwritten output passed the midpoint of low_water and
  /// high_water and reading from the peer stopped; false: it fell to
  /// low_water and reading resumed.
  std::function<void(const EpollSessionPtr&, bool high)> on_backpressure;
  /// The pong is already queued when Config::auto_pong is on.
  std::function<void(const EpollSessionPtr&, const Ping&)> on_ping;
  std::function<void(const EpollSessionPtr&, const Pong&)> on_pong;
  /// Client: the server answered the upgrade with another status; on_close
  /// follows with errc::unexpected_status.
  std::function<void(const EpollSessionPtr&, const Rejected&)> on_rejected;
};

}  // namespace ws::posix
