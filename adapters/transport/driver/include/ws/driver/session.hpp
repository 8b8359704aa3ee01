// Session: the application's thread-safe handle on one connection, the same
// on every transport. The transport's thread owns the socket, the Driver and
// the ws::Connection; everyone else talks to the connection through this.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "ws/base/bytes.hpp"
#include "ws/connection_state.hpp"
#include "ws/driver/outbox.hpp"
#include "ws/driver/subscriber.hpp"
#include "ws/frame/close_code.hpp"
#include "ws/handshake/server_handshake.hpp"
#include "ws/message/prepared_message.hpp"

namespace ws {

class Driver;

enum class SessionState : std::uint8_t {
  connecting,  // TCP connect or opening handshake in progress
  open,        // on_open was called; data flows
  closing,     // a close was requested or sent; no more sends
  closed,      // the connection ended (on_close was called if on_open was)
};

/// How a Session asks the transport that owns its driver to run it (an
/// eventfd write, an epoll loop's wake list, an Asio post). Called from any
/// thread, at most once per batch of requests; must not block or throw.
class Waker {
 public:
  virtual ~Waker() = default;
  virtual void wake() noexcept = 0;
};

/// One connection. Held as a std::shared_ptr by the application and by
/// channels (it is a Subscriber).
///
/// Thread-safety: every member may be called from any thread at any time,
/// also after the connection ended (sends then fail with errc::not_open).
/// Nothing here blocks on a socket. From another thread a message is framed
/// once (a server frame; a client's payload is masked again by the owner)
/// and put into the session's bounded Outbox, and the owner is woken once
/// for however many messages arrive before it runs. From inside one of this
/// connection's own handler calls, a send goes straight into the
/// ws::Connection after what other threads queued before it. Messages sent
/// from one thread go out in the order they were sent; a close goes out
/// after the messages its thread sent before it.
///
/// Backpressure: queued messages plus the connection's unwritten output
/// are judged against BackpressureLimits::high_water. Past it the
/// slow-subscriber policy applies: drop_messages makes the send fail with
/// errc::output_queue_full and counts it (dropped_count()); a close policy
/// fails the send the same way and closes the connection with 1013 or 1008.
/// Sends from the connection's own handlers are bounded by
/// Limits::max_queued_output instead, with the same policy past it. A
/// message is never dropped without the sender being told.
class Session final : public Subscriber, public std::enable_shared_from_this<Session> {
  struct Key {
    explicit Key() = default;
  };

 public:
  /// Built by a Driver only (see the Key).
  Session(Key, Role role, const BackpressureLimits& limits, std::shared_ptr<Waker> waker);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

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
  /// checked at once and never replaced by another code:
  /// errc::close_code_not_sendable, errc::close_reason_too_long,
  /// errc::close_reason_not_utf8, errc::not_open when a close was already
  /// requested or the connection ended. Closing a connection still in its
  /// opening handshake drops it (on_close, if due, reports
  /// std::errc::operation_canceled).
  std::error_code close(CloseCode code = CloseCode::normal, std::string_view reason = {});
  std::error_code close(std::uint16_t code, std::string_view reason = {});
  /// Drops the connection now, without a close handshake (also one whose
  /// close handshake is done but whose output is stuck); on_close, unless
  /// already called, reports std::errc::operation_canceled.
  void abort();
  /// Subscriber: queues a published message. False when it was not queued
  /// (closing, ended, dropped or over the limit).
  bool deliver(const std::shared_ptr<const PreparedMessage>& message) override;
  /// Subscriber: a resumable channel gave up on this connection; closes it
  /// with 1013 (its client resumes from its last position), unless it is
  /// already closing.
  void fell_behind() override;

  // ---- Observers, any thread ---------------------------------------------

  Role role() const noexcept { return role_; }
  SessionState state() const noexcept { return state_.load(std::memory_order_acquire); }
  bool is_open() const noexcept { return state() == SessionState::open; }
  /// Bytes waiting for this connection: queued messages plus the
  /// connection's unwritten output (as last published by the owner).
  std::size_t backlog_bytes() const;
  /// Messages dropped by SlowSubscriberPolicy::drop_messages.
  std::uint64_t dropped_count() const noexcept { return outbox_.dropped_count(); }
  /// True once the slow-subscriber close policy fired.
  bool over_limit() const noexcept { return outbox_.over_limit(); }
  /// Server: the upgrade request (path, query, Origin, headers); null for a
  /// client. Set before on_open and unchanged afterwards, unless
  /// DriverOptions::keep_request is false: then it is freed when on_open
  /// returns (null afterwards), so read it on the owner thread in on_open.
  const UpgradeRequest* request() const noexcept { return request_.get(); }
  /// The agreed subprotocol; empty when none. Set before on_open.
  const std::string& subprotocol() const noexcept { return subprotocol_; }

 private:
  friend class Driver;

  struct CloseRequest {
    std::uint16_t code = 1000;
    std::string reason;
  };
  struct Requests {
    std::optional<CloseRequest> close;
    bool abort = false;
  };

  std::error_code push(const std::shared_ptr<const PreparedMessage>& message);
  std::error_code send_payload(MessageKind kind, ByteView payload);
  void wake();
  /// The driver, when called from inside its own handler dispatch; else null.
  Driver* dispatching_driver() const noexcept;

  // Owner side (Driver).
  Requests take_requests();
  void mark_open();
  void mark_closing();
  void mark_ended();

  const Role role_;
  Outbox outbox_;
  std::shared_ptr<Waker> waker_;
  Driver* driver_ = nullptr;  // owner thread only; set while the driver lives
  std::atomic<SessionState> state_{SessionState::connecting};
  std::atomic<bool> wake_pending_{false};
  std::unique_ptr<const UpgradeRequest> request_;
  std::string subprotocol_;

  mutable std::mutex mutex_;                     // guards what follows
  std::unique_ptr<CloseRequest> close_request_;  // rare: not kept inline
  bool closing_ = false;  // close requested, or the connection is closing/ended
  bool abort_requested_ = false;
};

using SessionPtr = std::shared_ptr<Session>;

}  // namespace ws
