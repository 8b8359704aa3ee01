// What the contract cases share: a thread-safe record of what a handler
// saw, waits, the descriptor count. Header-only; one copy per test file
// (everything here is in an unnamed namespace).
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "posix/blocking_test_support.hpp"
#include "ws/driver/driver.hpp"

namespace ws::contract {
namespace {

using namespace std::chrono_literals;
using posix::test::kWait;
using test::Bytes;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSlowdown = 5;  // sanitizers: sizes down, waits up
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr int kSlowdown = 5;
#else
constexpr int kSlowdown = 1;
#endif
#else
constexpr int kSlowdown = 1;
#endif

// What a handler saw, from any thread.
// Shared with the handlers it makes: the transport may still call them
// after the test body ended (a connection dropped by the server's
// destructor).
class Record : public std::enable_shared_from_this<Record> {
 public:
  Handler handler(bool echo) {
    Handler handler;
    handler.on_open = [this, self = shared_from_this()](const SessionPtr& session) {
      std::lock_guard<std::recursive_mutex> lock(mutex_);
      sessions_.push_back(session);
      changed_.notify_all();
    };
    handler.on_message = [this, self = shared_from_this(), echo](const SessionPtr& session,
                                                                 const Message& message) {
      std::error_code sent;
      if (echo) {
        sent = message.kind == MessageKind::text ? session->send_text(message.text())
                                                 : session->send_binary(message.payload);
      }
      std::lock_guard<std::recursive_mutex> lock(mutex_);
      messages_.emplace_back(message.payload.begin(), message.payload.end());
      if (sent) send_errors_.push_back(sent);
      changed_.notify_all();
    };
    handler.on_close = [this, self = shared_from_this()](const SessionPtr&, const Closed& closed) {
      std::lock_guard<std::recursive_mutex> lock(mutex_);
      closes_.push_back(closed);
      closes_.back().reason = {};  // the view dies with the call
      changed_.notify_all();
    };
    return handler;
  }

  bool wait(const std::function<bool()>& done, std::chrono::milliseconds wait = kWait) {
    std::unique_lock<std::recursive_mutex> lock(mutex_);
    return changed_.wait_for(lock, wait, done);
  }
  SessionPtr session() {
    wait([this] { return !sessions_.empty(); });
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    return sessions_.empty() ? nullptr : sessions_.front();
  }
  std::optional<Closed> closed() {
    wait([this] { return !closes_.empty(); });
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    if (closes_.empty()) return std::nullopt;
    return closes_.front();
  }
  std::vector<Bytes> messages() {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    return messages_;
  }
  std::size_t message_count() {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    return messages_.size();
  }
  std::size_t close_count() {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    return closes_.size();
  }

 private:
  // Recursive: wait()'s predicates call the accessors below.
  std::recursive_mutex mutex_;
  std::condition_variable_any changed_;
  std::vector<SessionPtr> sessions_;
  std::vector<Bytes> messages_;
  std::vector<std::error_code> send_errors_;
  std::vector<Closed> closes_;
};

std::size_t open_descriptors() {
  std::size_t count = 0;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (::readdir(dir) != nullptr) ++count;
    ::closedir(dir);
  }
  return count;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds wait = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

[[maybe_unused]] std::string url(std::uint16_t port, std::string_view path = "/chat") {
  return "ws://127.0.0.1:" + std::to_string(port) + std::string(path);
}

}  // namespace
}  // namespace ws::contract
