// What a channel publishes to: one connection's Session, whatever transport
// runs it. It lives in the transport layer so that pub/sub (ws::channels,
// ws::redis) sits on top of transports and never the other way round.
#pragma once

#include <memory>
#include <string_view>

#include "ws/message/prepared_message.hpp"

namespace ws {

class Subscriber {
 public:
  virtual ~Subscriber() = default;

  /// Queues `message` for this connection and wakes its owner. Called from
  /// any thread, possibly many at once; it never blocks on I/O. Returns
  /// false when the message was not queued (the connection is closing, or
  /// the slow-subscriber policy refused it; a close policy then closes the
  /// connection with 1013 or 1008).
  virtual bool deliver(const std::shared_ptr<const PreparedMessage>& message) = 0;

  /// A resumable channel (ws::channels, docs/resume.md) could not deliver a
  /// message to this subscriber (deliver returned false) and will send it
  /// nothing more: it must not see a hole in its stream. The subscriber
  /// should make its peer resume; a Session closes with 1013 (try again
  /// later), which a resuming client answers by reconnecting with its last
  /// position. Called from any thread, never under a channel lock; the
  /// default does nothing (the subscriber just stops hearing that channel).
  virtual void fell_behind() {}
};

/// The part of a pub/sub layer a driver talks to (ws::channels::Registry
/// implements it): join the channel named by the request path when a server
/// connection opens (DriverOptions::join_path_channel), leave every channel
/// when the connection ends. Thread-safe.
class ChannelMembership {
 public:
  virtual ~ChannelMembership() = default;
  virtual bool join(std::string_view channel, const std::shared_ptr<Subscriber>& subscriber) = 0;
  virtual void leave_all(const Subscriber* subscriber) = 0;
};

}  // namespace ws
