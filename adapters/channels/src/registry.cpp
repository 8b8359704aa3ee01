#include "ws/channels/registry.hpp"

#include <algorithm>
#include <mutex>

namespace ws::channels {

bool Registry::join(std::string_view channel, const std::shared_ptr<Subscriber>& subscriber) {
  std::unique_lock lock(mutex_);
  auto it = channels_.find(channel);
  if (it == channels_.end())
    it = channels_.emplace(std::string(channel), std::vector<Member>{}).first;
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
  if (members.empty()) channels_.erase(it);
  return was_member;
}

void Registry::leave_all(const Subscriber* subscriber) {
  std::unique_lock lock(mutex_);
  for (auto it = channels_.begin(); it != channels_.end();) {
    std::vector<Member>& members = it->second;
    members.erase(std::remove_if(members.begin(), members.end(),
                                 [&](const Member& member) { return member.key == subscriber; }),
                  members.end());
    it = members.empty() ? channels_.erase(it) : std::next(it);
  }
}

std::size_t Registry::publish(std::string_view channel, MessageKind kind, ByteView payload) {
  return publish(channel, PreparedMessage::make(kind, payload));
}

std::size_t Registry::publish(std::string_view channel,
                              const std::shared_ptr<const PreparedMessage>& message) {
  // Delivery happens under the shared lock, so one thread's publishes reach
  // each member in order while other threads publish at the same time.
  std::shared_lock lock(mutex_);
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
