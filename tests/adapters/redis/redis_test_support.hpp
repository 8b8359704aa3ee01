// Test doubles for the Redis backplane: a real redis-server on a free
// loopback port in a temporary folder (persistence off), which a test can
// kill and start again on the same port, or stop and let go on (SIGSTOP,
// SIGCONT); a subscriber that records what it hears; and polling with a
// deadline.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ws/channels/subscriber.hpp"

namespace ws::redis::test {

using namespace std::chrono_literals;

/// Polls `done` until it holds or `timeout` passes (every test is bounded).
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

inline int loopback_socket(std::uint16_t port, bool listen_on_it) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto* raw = reinterpret_cast<sockaddr*>(&address);
  const int result =
      listen_on_it ? ::bind(fd, raw, sizeof address) : ::connect(fd, raw, sizeof address);
  if (result != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// A loopback port nobody listens on now.
inline std::uint16_t free_loopback_port() {
  const int fd = loopback_socket(0, true);
  if (fd < 0) return 0;
  sockaddr_in address{};
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

/// redis-server as a child process.
class RedisServer {
 public:
  RedisServer() = default;
  ~RedisServer() {
    kill();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  /// The redis-server binary, or nothing when it is not installed.
  static std::optional<std::string> binary() {
    if (const char* named = std::getenv("WS_REDIS_SERVER")) return std::string(named);
    for (const char* candidate : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"}) {
      if (::access(candidate, X_OK) == 0) return std::string(candidate);
    }
    return std::nullopt;
  }

  /// Starts it on a free port (or the port it had before) and waits until
  /// it answers PING.
  bool start() {
    if (dir_.empty()) {
      char pattern[] = "/tmp/ws-redis-test-XXXXXX";
      if (::mkdtemp(pattern) == nullptr) return false;
      dir_ = pattern;
    }
    if (port_ == 0) port_ = free_loopback_port();
    const std::optional<std::string> path = binary();
    if (!path) return false;
    const std::string port_text = std::to_string(port_);
    const std::string log = dir_ + "/redis.log";
    std::vector<std::string> args{
        *path, "--port", port_text, "--bind",    "127.0.0.1", "--save",      "",  "--appendonly",
        "no",  "--dir",  dir_,      "--logfile", log,         "--daemonize", "no"};
    pid_ = ::fork();
    if (pid_ == 0) {
      // Dies with the test process, even when a timeout kills it.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (pid_ < 0) return false;
    return eventually([this] { return answers_ping(); }, 10s);
  }

  /// Kills it at once (SIGKILL), as a crash would.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    paused_ = false;
  }

  /// Stops it (SIGSTOP), as a stalled Redis: its connections stay open and
  /// the kernel still accepts new ones, but nothing is read or answered.
  bool pause() {
    if (pid_ <= 0 || paused_ || ::kill(pid_, SIGSTOP) != 0) return false;
    int status = 0;
    paused_ = ::waitpid(pid_, &status, WUNTRACED) == pid_ && WIFSTOPPED(status);
    return paused_;
  }

  /// Lets a paused one go on (SIGCONT); false when it was not paused.
  bool resume() {
    if (pid_ <= 0 || !paused_ || ::kill(pid_, SIGCONT) != 0) return false;
    paused_ = false;
    int status = 0;
    return ::waitpid(pid_, &status, WCONTINUED) == pid_ && WIFCONTINUED(status);
  }

  std::uint16_t port() const { return port_; }

 private:
  bool answers_ping() const {
    const int fd = loopback_socket(port_, false);
    if (fd < 0) return false;
    timeval timeout{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    const char ping[] = "PING\r\n";
    bool ok = ::send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL) == sizeof ping - 1;
    char answer[16] = {};
    ok = ok && ::recv(fd, answer, sizeof answer - 1, 0) > 0 && std::string(answer) == "+PONG\r\n";
    ::close(fd);
    return ok;
  }

  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
};

/// Remembers the payloads it hears (any thread).
class RecordingSubscriber final : public channels::Subscriber {
 public:
  bool deliver(const std::shared_ptr<const PreparedMessage>& message) override {
    std::lock_guard lock(mutex_);
    texts_.emplace_back(as_text(message->payload()));
    frames_.push_back(message);
    return true;
  }
  std::vector<std::string> texts() const {
    std::lock_guard lock(mutex_);
    return texts_;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return texts_.size();
  }
  std::shared_ptr<const PreparedMessage> frame(std::size_t index) const {
    std::lock_guard lock(mutex_);
    return frames_.at(index);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> texts_;
  std::vector<std::shared_ptr<const PreparedMessage>> frames_;
};

}  // namespace ws::redis::test
