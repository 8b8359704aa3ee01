#include "ws/channels/registry.hpp"

#include <algorithm>
#include <mutex>

namespace ws::channels {

bool Registry::join(std::string_view channel, const std::shared_ptr<Subscriber>& subscriber) {
  std::unique_lock lock(mutex_);
  auto it = channels_.find(channel);
  if (it == channels_.end()) {
    it = channels_.emplace(std::string(channel), std::vector<Member>{}).first;
    // Under the lock, so the backplane hears first-join and last-leave in order.
    if (backplane_ != nullptr) backplane_->subscribe(channel);
  }
  std::vector<Member>& members = it->second;
  const bool present = std::any_of(members.begin(), members.end(), [&](const Member& member) {
    return member.key == subscriber.get();
  });
  if (present) return false;
  members.push_back(Member{subscriber.get(), subscriber});
  return true;
}

bool Registry::leave(std::string_view channel, const Subscriber* subscriber) {
  std::unique_lock lock(mutex_);
  const auto it = channels_.find(channel);
  if (it == channels_.end()) return false;
  std::vector<Member>& members = it->second;
  const auto removed = std::remove_if(members.begin(), members.end(), [&](const Member& member) {
    return member.key == subscriber;
  });
  const bool was_member = removed != members.end();
  members.erase(removed, members.end());
  if (members.empty()) {
    channels_.erase(it);
    if (backplane_ != nullptr) backplane_->unsubscribe(channel);
  }
  return was_member;
}

void Registry::leave_all(const Subscriber* subscriber) {
  std::unique_lock lock(mutex_);
  for (auto it = channels_.begin(); it != channels_.end();) {
    std::vector<Member>& members = it->second;
    members.erase(std::remove_if(members.begin(), members.end(),
                                 [&](const Member& member) { return member.key == subscriber; }),
                  members.end());
    if (!members.empty()) {
      ++it;
      continue;
    }
    if (backplane_ != nullptr) backplane_->unsubscribe(it->first);
    it = channels_.erase(it);
  }
}

std::size_t Registry::publish(std::string_view channel, MessageKind kind, ByteView payload) {
  return try_publish(channel, kind, payload).local_deliveries;
}

std::size_t Registry::publish(std::string_view channel,
                              const std::shared_ptr<const PreparedMessage>& message) {
  std::shared_lock lock(mutex_);
  if (backplane_ == nullptr) return deliver_locked(channel, message);
  // A backplane carries the payload, not the frame: each server frames what
  // the broker hands back.
  return backplane_->publish(channel, message->kind(), message->payload()).local_deliveries;
}

PublishResult Registry::try_publish(std::string_view channel, MessageKind kind, ByteView payload) {
  std::shared_lock lock(mutex_);
  if (backplane_ != nullptr) return backplane_->publish(channel, kind, payload);
  PublishResult result;
  result.status = PublishStatus::delivered;
  // Framed even with no members: the common case has members, and framing
  // outside the lock would need a second lookup.
  result.local_deliveries = deliver_locked(channel, PreparedMessage::make(kind, payload));
  return result;
}

std::size_t Registry::deliver_local(std::string_view channel,
                                    const std::shared_ptr<const PreparedMessage>& message) {
  std::shared_lock lock(mutex_);
  return deliver_locked(channel, message);
}

std::size_t Registry::deliver_locked(std::string_view channel,
                                     const std::shared_ptr<const PreparedMessage>& message) const {
  // Delivery happens under the shared lock, so one thread's publishes reach
  // each member in order while other threads publish at the same time.
  const auto it = channels_.find(channel);
  if (it == channels_.end()) return 0;
  std::size_t delivered = 0;
  for (const Member& member : it->second) {
    if (const std::shared_ptr<Subscriber> subscriber = member.subscriber.lock()) {
      if (subscriber->deliver(message)) ++delivered;
    }
  }
  return delivered;
}

void Registry::set_backplane(Backplane* backplane) {
  std::unique_lock lock(mutex_);
  backplane_ = backplane;
  if (backplane_ == nullptr) return;
  for (const auto& [name, members] : channels_) backplane_->subscribe(name);
}

std::size_t Registry::member_count(std::string_view channel) const {
  std::shared_lock lock(mutex_);
  const auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : it->second.size();
}

std::vector<std::string> Registry::channel_names() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> names;
  names.reserve(channels_.size());
  for (const auto& [name, members] : channels_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace ws::channels
