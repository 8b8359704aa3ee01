#include "ws/posix/blocking_connection_set.hpp"

#include <vector>

namespace ws::posix {

std::size_t BlockingConnectionSet::size() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

bool BlockingConnectionSet::shutting_down() const {
  std::lock_guard lock(mutex_);
  return shutting_down_;
}

bool BlockingConnectionSet::add(const std::shared_ptr<BlockingSession>& session) {
  std::lock_guard lock(mutex_);
  if (shutting_down_) return false;
  live_.emplace(session.get(), session);
  return true;
}

void BlockingConnectionSet::remove(const BlockingSession* session) {
  {
    std::lock_guard lock(mutex_);
    live_.erase(session);
  }
  changed_.notify_all();
}

bool BlockingConnectionSet::wait_until_empty(TimePoint deadline) {
  std::unique_lock lock(mutex_);
  return changed_.wait_until(lock, deadline, [this] { return live_.empty(); });
}

std::size_t BlockingConnectionSet::close_all(Duration timeout, CloseCode code,
                                             std::string_view reason) {
  const auto snapshot = [this] {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    std::vector<std::shared_ptr<BlockingSession>> sessions;
    for (const auto& entry : live_) {
      if (auto session = entry.second.lock()) sessions.push_back(std::move(session));
    }
    return sessions;
  };
  // Closing outside the lock: a session's owner takes the lock to leave.
  for (const auto& session : snapshot()) (void)session->close(code, reason);
  if (wait_until_empty(Clock::now() + timeout)) return 0;

  const std::vector<std::shared_ptr<BlockingSession>> stragglers = snapshot();
  for (const auto& session : stragglers) session->abort();
  (void)wait_until_empty(Clock::now() + timeout);
  return stragglers.size();
}

}  // namespace ws::posix
