// The thread-safe face of one live Asio connection: what other threads and
// channels hold. No Asio here.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <system_error>

#include "ws/base/bytes.hpp"
#include "ws/channels/subscriber.hpp"
#include "ws/frame/close_code.hpp"

namespace ws::asio {

/// Obtained from Stream::session() (or handed to Server handlers); held as a
/// std::shared_ptr. Join it to channels with
/// `registry.join(name, session)`.
///
/// Thread safety: every member may be called from any thread at any time,
/// also after the connection ended (the calls then do nothing and return
/// false). Nothing here blocks on I/O: each call queues work and posts to
/// the stream's executor, which does the writing. Called from one of the
/// stream's own completion handlers (an async_read's, say), a send goes
/// straight into the Connection instead, after what other threads queued:
/// it is written with the answers to the other messages already read, in
/// one gathered write, and Limits::max_queued_output bounds it.
///
/// Bounds: messages wait in a channels::SubscriberQueue limited by
/// StreamOptions::backpressure; past its high-water mark the policy applies
/// (close with 1013 or 1008, or drop and count).
///
/// Order: messages sent through one Session from one thread go out in that
/// order. They are not ordered against Stream::async_write calls.
class Session : public channels::Subscriber {
 public:
  /// Channels: queues a message framed once for many connections. A server
  /// sends its bytes as they are; a client re-frames the payload with a
  /// fresh mask.
  bool deliver(const std::shared_ptr<const PreparedMessage>& message) override = 0;

  /// Queues a text (UTF-8) or binary message; the payload is copied. Returns
  /// false when it was not queued: closing or closed, or refused by the
  /// slow-subscriber policy (which then closes the connection with 1013 or
  /// 1008, or with drop_messages counts it in dropped_count()).
  virtual bool send_text(std::string_view text) = 0;
  virtual bool send_binary(ByteView data) = 0;

  /// Starts the close handshake with `code` (an open connection) or drops
  /// the connection (one still in its opening handshake). Reads pending on
  /// the Stream then end with the close. Errors, checked at once; the code
  /// is never replaced by another: errc::close_code_not_sendable,
  /// errc::close_reason_too_long, errc::close_reason_not_utf8, and
  /// errc::not_open when a close was already requested or the connection
  /// ended.
  virtual std::error_code close(CloseCode code = CloseCode::normal,
                                std::string_view reason = {}) = 0;
  /// Closes the transport at once; pending operations fail with
  /// std::errc::operation_canceled.
  virtual void abort() = 0;

  /// Messages dropped by SlowSubscriberPolicy::drop_messages.
  virtual std::uint64_t dropped_count() const noexcept = 0;
};

}  // namespace ws::asio
