// What a channel publishes to: one connection, owned by some adapter.
#pragma once

#include <memory>

#include "ws/message/prepared_message.hpp"

namespace ws::channels {

/// A connection as a channel sees it. Each adapter (POSIX threads, epoll,
/// Asio) implements it with a SubscriberQueue and a way to wake the thread
/// that owns the connection.
class Subscriber {
 public:
  virtual ~Subscriber() = default;

  /// Queues `message` for this connection and wakes its owner. Called from
  /// any thread, possibly many at once; it never blocks on I/O. Returns
  /// false when the message was not queued (the connection is closing, or
  /// the slow-subscriber policy dropped it).
  virtual bool deliver(const std::shared_ptr<const PreparedMessage>& message) = 0;
};

}  // namespace ws::channels
