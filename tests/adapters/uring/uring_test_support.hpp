// Test doubles for the io_uring transport tests: a loop on its own thread
// and a server fixture. The recorder of callbacks and the raw blocking peer
// are the epoll tests' (they know only ws::Handler and a socket).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "../posix/epoll_test_support.hpp"
#include "ws/uring/support.hpp"
#include "ws/uring/uring_client.hpp"
#include "ws/uring/uring_loop.hpp"
#include "ws/uring/uring_server.hpp"

namespace ws::uring::test {

using namespace std::chrono_literals;
using posix::epoll_test::eventually;
using posix::epoll_test::RawPeer;
using posix::epoll_test::Recorder;
using ws::test::Bytes;
using ws::test::OwnedEvent;

/// Skips the test where io_uring is refused or missing (the refusal test
/// covers that case on purpose); prints why.
#define WS_REQUIRE_URING()                                      \
  do {                                                          \
    const ::ws::uring::Support support_ = ::ws::uring::probe(); \
    if (!support_) GTEST_SKIP() << support_.message;            \
  } while (false)

/// A UringLoop running on its own thread from start() until destruction.
class LoopThread {
 public:
  explicit LoopThread(UringLoopOptions options = {}) : loop_(options) {}
  ~LoopThread() { stop(); }
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  UringLoop& loop() { return loop_; }
  void start() {
    thread_ = std::thread([this] { error_ = loop_.run(); });
  }
  void stop() {
    loop_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::error_code error() const { return error_; }
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
  UringLoop loop_;
  std::thread thread_;
  std::error_code error_;
};

/// A server on a LoopThread with a Recorder; the loop starts after the
/// server is listening.
struct ServerFixture {
  explicit ServerFixture(UringServerOptions options = {}, bool echo = true,
                         UringLoopOptions loop_options = {})
      : runner(loop_options) {
    Result<UringServer> created =
        UringServer::listen(runner.loop(), std::move(options), recorder.handler(echo));
    if (created) server.emplace(std::move(*created));
    runner.start();
  }
  std::uint16_t port() const { return server ? server->port() : 0; }
  std::string url(std::string_view path = "/chat") const {
    return "ws://127.0.0.1:" + std::to_string(port()) + std::string(path);
  }

  Recorder recorder;
  LoopThread runner;
  std::optional<UringServer> server;
};

}  // namespace ws::uring::test
