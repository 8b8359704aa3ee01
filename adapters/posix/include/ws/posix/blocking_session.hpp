// BlockingSession: the application's handle on one connection served by the
// blocking, thread-per-connection adapter (ws/posix/blocking.hpp).
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
#include <thread>

#include "ws/base/bytes.hpp"
#include "ws/channels/subscriber.hpp"
#include "ws/channels/subscriber_queue.hpp"
#include "ws/connection_state.hpp"
#include "ws/frame/close_code.hpp"
#include "ws/handshake/server_handshake.hpp"
#include "ws/message/prepared_message.hpp"
#include "ws/posix/socket.hpp"

namespace ws::posix {

namespace detail {
class BlockingLoop;
}

/// One live connection. The thread that called serve(), serve_upgraded() or
/// connect() owns the socket and the ws::Connection; every other thread (and
/// the handler itself) talks to the connection through this object.
///
/// Thread-safety: send_text, send_binary, send, close, deliver and the
/// observers may be called from any thread at any time, also after the
/// connection ended (they then fail with errc::not_open). They never block
/// on the socket. From another thread a message is framed (server) and put
/// into the session's bounded SubscriberQueue, and the owning thread is
/// woken through an eventfd to write it. On the owning thread (inside the
/// handler) a send goes straight into the ws::Connection, after whatever
/// other threads queued before it. Messages sent from one thread go out in
/// the order they were sent. request() and subprotocol() are set before
/// on_open and never change afterwards.
///
/// Backpressure: for sends from other threads (and channel deliveries) the
/// queue plus the connection's unwritten output are judged against
/// BackpressureLimits::high_water. Past it the slow-subscriber policy
/// applies: drop_messages makes sends fail with errc::output_queue_full
/// (counted in dropped_count()); a close policy makes them fail the same way
/// and closes the connection with 1013 or 1008. Sends on the owning thread
/// are bounded by Limits::max_queued_output instead (errc::output_queue_full
/// past it); they are answers to what was read, and the adapter stops
/// reading while the unwritten output is above high_water.
class BlockingSession final : public channels::Subscriber,
                              public std::enable_shared_from_this<BlockingSession> {
  struct Key {
    explicit Key() = default;
  };

 public:
  /// Built by the adapter only (see the Key).
  BlockingSession(Key, Role role, const channels::BackpressureLimits& limits);
  ~BlockingSession() override;
  BlockingSession(const BlockingSession&) = delete;
  BlockingSession& operator=(const BlockingSession&) = delete;

  // ---- Sending, from any thread ------------------------------------------
  // Each returns an empty error_code once the message is queued, or
  //   errc::not_open            - the connection is closing or has ended
  //   errc::output_queue_full   - the backlog is past the high-water mark
  //                               (the slow-subscriber policy applied)
  // A server frames the message here, once; a client's payload is framed
  // (and masked) by the owning thread.

  std::error_code send_text(std::string_view text);
  std::error_code send_binary(ByteView data);
  /// Server: queues a frame prepared once for many connections (a client
  /// sends its payload as a masked frame of the same kind).
  std::error_code send(const std::shared_ptr<const PreparedMessage>& message);

  /// Starts the close handshake after the messages already queued.
  /// Errors, checked at once: errc::close_code_not_sendable,
  /// errc::close_reason_too_long, errc::close_reason_not_utf8, and
  /// errc::not_open when a close was already requested or the connection
  /// ended. Later sends fail with errc::not_open.
  std::error_code close(std::uint16_t code, std::string_view reason = {});
  std::error_code close(CloseCode code = CloseCode::normal, std::string_view reason = {});

  /// Ends the connection now without a close handshake (also one whose
  /// close handshake is done but whose output is stuck): the owning thread
  /// wakes, shuts the transport down and, unless on_close was already
  /// called, reports Closed with std::errc::operation_canceled. For
  /// shutdown paths that cannot wait.
  void abort();

  /// channels::Subscriber: queues a published (prepared) message. False when
  /// it was not queued (ended, closing, dropped or over the limit).
  bool deliver(const std::shared_ptr<const PreparedMessage>& message) override;

  // ---- Observers, any thread ---------------------------------------------

  Role role() const noexcept { return role_; }
  /// True from on_open until the connection ends.
  bool is_open() const noexcept { return open_.load(std::memory_order_acquire); }
  /// Bytes waiting for this connection: queued messages plus the
  /// connection's unwritten output (as last published by the owner).
  std::size_t backlog_bytes() const;
  /// Messages the drop_messages policy dropped.
  std::uint64_t dropped_count() const noexcept { return queue_.dropped_count(); }
  /// True once the slow-subscriber close policy fired.
  bool over_limit() const noexcept { return queue_.over_limit(); }

  /// Server: the upgrade request (path, query, Origin, headers), for routing
  /// by path; null for a client. Valid as long as the session.
  const UpgradeRequest* request() const noexcept { return request_.get(); }
  /// The agreed subprotocol; empty when none.
  const std::string& subprotocol() const noexcept { return subprotocol_; }

 private:
  friend class detail::BlockingLoop;

  struct CloseRequest {
    std::uint16_t code = 1000;
    std::string reason;
  };
  struct OwnerRequests {
    std::optional<CloseRequest> close;
    bool abort = false;
  };

  std::error_code push(const std::shared_ptr<const PreparedMessage>& message);
  void wake();
  /// The loop, when called on the owning thread while it runs; else null.
  detail::BlockingLoop* owner_here() const noexcept;
  bool accepting_sends() const;

  // Owner side (detail::BlockingLoop).
  void attach(detail::BlockingLoop* loop) noexcept { loop_ = loop; }
  int wake_fd() const noexcept { return wake_fd_.get(); }
  OwnerRequests take_requests();
  void mark_open(std::optional<UpgradeRequest> request, std::string subprotocol);
  void mark_closing();
  void mark_ended();
  void publish_owner_pending(std::size_t bytes) noexcept;

  const Role role_;
  const std::thread::id owner_thread_ = std::this_thread::get_id();
  detail::BlockingLoop* loop_ = nullptr;  // read and written on the owning thread only
  channels::SubscriberQueue queue_;
  std::atomic<bool> open_{false};
  std::atomic<std::size_t> owner_pending_{0};
  std::unique_ptr<const UpgradeRequest> request_;
  std::string subprotocol_;

  mutable std::mutex mutex_;  // guards what follows
  FileDescriptor wake_fd_;    // eventfd; closed when the connection ends
  std::optional<CloseRequest> close_request_;
  bool closing_ = false;  // close requested or Closed seen: no more sends
  bool abort_requested_ = false;
  bool ended_ = false;
};

}  // namespace ws::posix
