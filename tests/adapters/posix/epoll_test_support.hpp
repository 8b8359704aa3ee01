// Test doubles for the epoll adapter tests: a loop on its own thread, a
// recorder of callbacks, and a raw blocking peer that sends exactly the
// bytes a test wants and parses what comes back.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/frames.hpp"
#include "support/handshake_text.hpp"
#include "ws/connection.hpp"
#include "ws/posix/epoll_client.hpp"
#include "ws/posix/epoll_loop.hpp"
#include "ws/posix/epoll_server.hpp"
#include "ws/posix/epoll_session.hpp"
#include "ws/posix/socket.hpp"

namespace ws::posix::epoll_test {

using namespace std::chrono_literals;
using ws::test::Bytes;
using ws::test::OwnedEvent;

/// Polls `done` until it holds or `timeout` passes (every test is bounded).
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

/// An EpollLoop running on its own thread from start() until destruction.
class LoopThread {
 public:
  LoopThread() = default;
  ~LoopThread() { stop(); }
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  EpollLoop& loop() { return loop_; }
  void start() {
    thread_ = std::thread([this] { error_ = loop_.run(); });
  }
  void stop() {
    loop_.stop();
    if (thread_.joinable()) thread_.join();
  }
  /// Runs `task` on the loop thread and waits for it.
  void run_on_loop(std::function<void()> task) {
    std::mutex mutex;
    bool done = false;
    loop_.post([&] {
      task();
      std::lock_guard lock(mutex);
      done = true;
    });
    eventually([&] {
      std::lock_guard lock(mutex);
      return done;
    });
  }

 private:
  EpollLoop loop_;
  std::thread thread_;
  std::error_code error_;
};

struct RecordedClose {
  CloseCode code = CloseCode::abnormal;
  std::string reason;
  std::error_code error;
};

/// Copies of what the callbacks saw, readable from the test thread.
class Recorder {
 public:
  /// Callbacks that record everything; with `echo` every message is sent
  /// back on the same session.
  EpollHandler handler(bool echo = false) {
    EpollHandler h;
    h.on_open = [this](const EpollSessionPtr& session) {
      std::lock_guard lock(mutex_);
      sessions_.push_back(session);
    };
    h.on_message = [this, echo](const EpollSessionPtr& session, const Message& message) {
      if (echo) {
        if (message.kind == MessageKind::text) {
          session->send_text(message.text());
        } else {
          session->send_binary(message.payload);
        }
      }
      std::lock_guard lock(mutex_);
      messages_.push_back(OwnedEvent(ws::test::own(Event(message))));
    };
    h.on_close = [this](const EpollSessionPtr&, const Closed& closed) {
      std::lock_guard lock(mutex_);
      closes_.push_back(RecordedClose{closed.code, std::string(closed.reason), closed.error});
    };
    h.on_backpressure = [this](const EpollSessionPtr&, bool high) {
      std::lock_guard lock(mutex_);
      backpressure_.push_back(high);
    };
    h.on_ping = [this](const EpollSessionPtr&, const Ping& ping) {
      std::lock_guard lock(mutex_);
      pings_.push_back(ws::test::text_of(ping.payload));
    };
    h.on_pong = [this](const EpollSessionPtr&, const Pong& pong) {
      std::lock_guard lock(mutex_);
      pongs_.push_back(ws::test::text_of(pong.payload));
    };
    h.on_rejected = [this](const EpollSessionPtr&, const Rejected& rejected) {
      std::lock_guard lock(mutex_);
      rejected_statuses_.push_back(rejected.status);
    };
    return h;
  }

  std::size_t open_count() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
  }
  EpollSessionPtr session(std::size_t i = 0) const {
    std::lock_guard lock(mutex_);
    return i < sessions_.size() ? sessions_[i] : nullptr;
  }
  std::vector<OwnedEvent> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  std::size_t message_count() const {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }
  std::vector<RecordedClose> closes() const {
    std::lock_guard lock(mutex_);
    return closes_;
  }
  std::size_t close_count() const {
    std::lock_guard lock(mutex_);
    return closes_.size();
  }
  std::vector<bool> backpressure() const {
    std::lock_guard lock(mutex_);
    return backpressure_;
  }
  std::vector<std::string> pings() const {
    std::lock_guard lock(mutex_);
    return pings_;
  }
  std::vector<int> rejected_statuses() const {
    std::lock_guard lock(mutex_);
    return rejected_statuses_;
  }
  std::vector<std::string> pongs() const {
    std::lock_guard lock(mutex_);
    return pongs_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<EpollSessionPtr> sessions_;
  std::vector<OwnedEvent> messages_;
  std::vector<RecordedClose> closes_;
  std::vector<bool> backpressure_;
  std::vector<std::string> pings_;
  std::vector<std::string> pongs_;
  std::vector<int> rejected_statuses_;
};

/// A blocking TCP peer under the test's full control. After the opening
/// handshake it parses what the server sends with a client-role Connection
/// (which answers nothing by itself: the test writes every byte it sends).
class RawPeer {
 public:
  explicit RawPeer(std::uint16_t port) {
    Result<FileDescriptor> connected = connect_tcp("127.0.0.1", port);
    if (connected) fd_ = std::move(*connected);
  }

  bool connected() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }

  bool send(ByteView bytes) { return !write_all(fd_.get(), bytes.data(), bytes.size()); }
  bool send(std::string_view text) { return send(as_bytes(text)); }

  /// Reads until the end of an HTTP head; the bytes after it are kept.
  std::string read_head(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const std::size_t end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = buffer_.substr(0, end + 4);
        buffer_.erase(0, end + 4);
        return head;
      }
      if (!read_more(deadline)) return {};
    }
  }

  /// Sends a valid upgrade request for `target` and reads the answer head;
  /// true when it is a 101.
  bool handshake(std::string_view target = "/chat") {
    std::vector<HeaderField> fields = ws::test::upgrade_fields();
    fields[0].value = "127.0.0.1";
    if (!send(ws::test::head_text("GET " + std::string(target) + " HTTP/1.1", fields))) {
      return false;
    }
    const std::string head = read_head();
    if (head.rfind("HTTP/1.1 101", 0) != 0) return false;
    Config config;
    config.auto_pong = false;
    parser_.emplace(Connection::after_handshake(Role::client, config));
    return true;
  }

  /// The next event the server's bytes produce (a copy), or nothing at the
  /// timeout or the end of the stream.
  std::optional<OwnedEvent> next_event(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (std::optional<Event> event = parser_->next_event()) return ws::test::own(*event);
      if (!buffer_.empty()) {
        const std::size_t taken = parser_->receive(as_bytes(buffer_));
        buffer_.erase(0, taken);
        if (taken > 0) continue;
      }
      if (!read_more(deadline)) return std::nullopt;
    }
  }

  /// Reads and discards until the server ends the stream; false at the timeout.
  bool wait_for_eof(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
      buffer_.clear();
      if (!read_more(deadline) && !eof_) return false;
    }
    return true;
  }

  /// Frames a client would send (masked).
  bool send_frame(Opcode opcode, std::string_view payload, bool fin = true) {
    return send(ws::test::client_frame(opcode, payload, fin));
  }

  void close() { fd_.reset(); }
  bool at_eof() const { return eof_; }

 private:
  bool read_more(std::chrono::steady_clock::time_point deadline) {
    if (eof_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd waiter{fd_.get(), POLLIN, 0};
    if (::poll(&waiter, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[65536];
    const ssize_t got = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (got <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(got));
    return true;
  }

  FileDescriptor fd_;
  std::string buffer_;
  std::optional<Connection> parser_;
  bool eof_ = false;
};

/// A server on a LoopThread with a Recorder; the loop starts after
/// construction so tests can adjust nothing racy.
struct ServerFixture {
  explicit ServerFixture(EpollServerOptions options = {}, bool echo = true) {
    Result<EpollServer> created =
        EpollServer::listen(runner.loop(), std::move(options), recorder.handler(echo));
    if (created) server.emplace(std::move(*created));
    runner.start();
  }
  std::uint16_t port() const { return server ? server->port() : 0; }
  std::string url(std::string_view path = "/chat") const {
    return "ws://127.0.0.1:" + std::to_string(port()) + std::string(path);
  }

  Recorder recorder;
  LoopThread runner;
  std::optional<EpollServer> server;
};

}  // namespace ws::posix::epoll_test
