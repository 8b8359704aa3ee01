// Named channels: which connections hear what is published where.
//
// Thread safety: every member may be called from any thread at once.
// Ordering: messages published by one thread to one channel reach each
// subscriber in the order they were published. Channels never mix: a
// message reaches only the subscribers of the channel it was published to.
#pragma once

#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/channels/subscriber.hpp"
#include "ws/event.hpp"

namespace ws::channels {

class Registry {
 public:
  /// Adds `subscriber` to `channel` (created on first join). The registry
  /// holds it weakly: a subscriber that is destroyed simply stops hearing.
  /// Returns false if it was already a member.
  bool join(std::string_view channel, const std::shared_ptr<Subscriber>& subscriber);
  /// Removes `subscriber` from `channel`; false if it was not a member.
  bool leave(std::string_view channel, const Subscriber* subscriber);
  /// Removes `subscriber` from every channel (call it when a connection ends).
  void leave_all(const Subscriber* subscriber);

  /// Frames `payload` once (an unmasked server frame) and queues the same
  /// bytes for every member of `channel`. Returns how many members it was
  /// queued for; it returns before anything is written.
  std::size_t publish(std::string_view channel, MessageKind kind, ByteView payload);
  /// Queues an already prepared message for every member of `channel`.
  std::size_t publish(std::string_view channel,
                      const std::shared_ptr<const PreparedMessage>& message);

  /// Members of `channel` now.
  std::size_t member_count(std::string_view channel) const;
  /// Names of the channels with at least one member.
  std::vector<std::string> channel_names() const;

 private:
  struct Member {
    const Subscriber* key;
    std::weak_ptr<Subscriber> subscriber;
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept {
      return std::hash<std::string_view>{}(name);
    }
  };
  using Channels = std::unordered_map<std::string, std::vector<Member>, NameHash, std::equal_to<>>;

  mutable std::shared_mutex mutex_;
  Channels channels_;
};

}  // namespace ws::channels
