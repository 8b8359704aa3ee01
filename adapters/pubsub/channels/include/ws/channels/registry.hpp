// Named channels: which connections hear what is published where.
//
// Thread safety: every member may be called from any thread at once.
// Ordering: messages published by one thread to one channel reach each
// subscriber in the order they were published. Channels never mix: a
// message reaches only the subscribers of the channel it was published to.
//
// Publishing goes through a Backplane when one is set (ws/channels/
// backplane.hpp): the message then travels through a broker shared by
// several servers and comes back to deliver_local on each of them.
// Without one, delivery is in-process.
#pragma once

#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/channels/backplane.hpp"
#include "ws/channels/subscriber.hpp"
#include "ws/event.hpp"

namespace ws::channels {

class Registry final : public ChannelMembership {
 public:
  /// Adds `subscriber` to `channel` (created on first join). The registry
  /// holds it weakly: a subscriber that is destroyed simply stops hearing.
  /// Returns false if it was already a member.
  bool join(std::string_view channel, const std::shared_ptr<Subscriber>& subscriber) override;
  /// Removes `subscriber` from `channel`; false if it was not a member.
  bool leave(std::string_view channel, const Subscriber* subscriber);
  /// Removes `subscriber` from every channel (call it when a connection ends).
  void leave_all(const Subscriber* subscriber) override;

  /// In-process: frames `payload` once (an unmasked server frame) and
  /// queues the same bytes for every member of `channel`. Returns how many
  /// members it was queued for; it returns before anything is written.
  /// With a backplane: hands the message to it and returns 0 (members hear
  /// it when it comes back); use try_publish to learn of a failure.
  std::size_t publish(std::string_view channel, MessageKind kind, ByteView payload);
  /// Queues an already prepared message for every member of `channel` (or
  /// hands its payload to the backplane, as above).
  std::size_t publish(std::string_view channel,
                      const std::shared_ptr<const PreparedMessage>& message);
  /// publish, telling what became of the message: delivered (in-process,
  /// with the count), sent or buffered (backplane), or failed with the
  /// backplane's error (BackplaneErrc) when the broker cannot be reached.
  PublishResult try_publish(std::string_view channel, MessageKind kind, ByteView payload);

  /// Queues `message` for this node's members of `channel` only. A backplane
  /// calls it with what the broker hands back. Returns the members reached.
  std::size_t deliver_local(std::string_view channel,
                            const std::shared_ptr<const PreparedMessage>& message);

  /// Routes publishes through `backplane` (nullptr: in-process again) and
  /// tells it every channel that has members now. The backplane must stay
  /// alive until it is replaced; this waits for publishes in progress.
  void set_backplane(Backplane* backplane);

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

  std::size_t deliver_locked(std::string_view channel,
                             const std::shared_ptr<const PreparedMessage>& message) const;

  mutable std::shared_mutex mutex_;
  Channels channels_;
  Backplane* backplane_ = nullptr;  // guarded by mutex_
};

}  // namespace ws::channels
