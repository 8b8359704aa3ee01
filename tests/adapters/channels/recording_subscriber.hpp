// A channel member that keeps every message it is handed, for the channels
// tests. Thread-safe: publishers may deliver from several threads.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ws/channels/subscriber.hpp"
#include "ws/message/prepared_message.hpp"

namespace ws::channels::test {

class RecordingSubscriber final : public Subscriber {
 public:
  bool deliver(const std::shared_ptr<const PreparedMessage>& message) override {
    std::lock_guard lock(mutex);
    received.push_back(message);
    return true;
  }
  // The payloads received so far, as text.
  std::vector<std::string> texts() const {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (const auto& m : received) out.emplace_back(as_text(m->payload()));
    return out;
  }
  mutable std::mutex mutex;
  std::vector<std::shared_ptr<const PreparedMessage>> received;
};

}  // namespace ws::channels::test
