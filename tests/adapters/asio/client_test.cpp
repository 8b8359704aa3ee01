// ws::asio::connect and ws::asio::start_resilient (ws/asio/client.hpp) over
// loopback against EpollServers on threads of their own (mostly the
// ResilientClient tests' RedirectingServer): an echo, one over wss:// with the
// ws::tls layer, a refused connect, a refused upgrade, a silent server bounded
// by the handshake timeout, a close while connecting, bad URLs; a redirect
// chain followed, a connection made again after the server closes with 1012,
// refused connects retried until given up, and callbacks that never overlap
// with two io threads. The proxy cases are in
// tests/adapters/proxy/transport_route_test.cpp (mode "asio").
#include "ws/asio/client.hpp"

#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../posix/resilient_test_server.hpp"
#include "tls/test_layers.hpp"
#include "ws/base/error.hpp"

namespace ws::asio {
namespace {

using namespace std::chrono_literals;
using posix::epoll_test::eventually;
using posix::epoll_test::fast_reconnect;
using posix::epoll_test::RedirectingServer;
using posix::epoll_test::ResilienceLog;

// An io_context run by a thread of its own until the test ends.
struct IoThread {
  ::asio::io_context io;
  ::asio::executor_work_guard<::asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  ~IoThread() {
    work.reset();
    io.stop();
    thread.join();
  }
};

// What one connection's handler saw, from the io thread.
struct Seen {
  std::mutex mutex;
  std::vector<std::string> events;
  std::optional<Closed> closed;
  std::string reason;
  std::thread::id callback_thread;

  void add(std::string event) {
    std::lock_guard lock(mutex);
    callback_thread = std::this_thread::get_id();
    events.push_back(std::move(event));
  }
  bool ended() {
    std::lock_guard lock(mutex);
    return closed.has_value();
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return events;
  }

  // Sends `greeting` on open (when not empty) and closes after the echo.
  Handler handler(std::string greeting = {}) {
    Handler handler;
    handler.on_open = [this, greeting](const SessionPtr& session) {
      add("open");
      if (!greeting.empty()) (void)session->send_text(greeting);
    };
    handler.on_message = [this](const SessionPtr& session, const Message& message) {
      add("message " + std::string(message.text()));
      (void)session->close(CloseCode::normal, "done");
    };
    handler.on_rejected = [this](const SessionPtr&, const Rejected& rejected) {
      add("rejected " + std::to_string(rejected.status));
    };
    handler.on_close = [this](const SessionPtr&, const Closed& end) {
      add("close");
      std::lock_guard lock(mutex);
      closed = end;
      reason = std::string(end.reason);
    };
    return handler;
  }
};

// A loopback port nobody listens on.
std::uint16_t unused_port() {
  ::asio::io_context io;
  ::asio::ip::tcp::acceptor acceptor(io, {::asio::ip::address_v4::loopback(), 0});
  return acceptor.local_endpoint().port();
}

TEST(AsioClient, EchoesOverLoopbackWithCallbacksOnTheIoThread) {
  RedirectingServer server;
  IoThread io;
  Seen seen;
  Result<SessionPtr> session =
      ws::asio::connect(io.io, server.url("/final"), seen.handler("hello"));
  ASSERT_TRUE(session.has_value()) << session.error().message();
  ASSERT_NE(*session, nullptr);
  ASSERT_TRUE(eventually([&] { return seen.ended(); }, 5000ms));
  EXPECT_EQ(seen.snapshot(), (std::vector<std::string>{"open", "message hello", "close"}));
  EXPECT_FALSE(seen.closed->error) << seen.closed->error.message();
  EXPECT_EQ(seen.callback_thread, io.thread.get_id());
}

// wss:// through the ws::tls client layer (ClientOptions::stream_layer), the
// one ws-client uses in every mode, against an EpollServer speaking TLS.
TEST(AsioClient, EchoesOverTlsWithTheWsTlsLayer) {
  posix::epoll_test::LoopThread runner;
  posix::EpollServerOptions server_options;
  server_options.stream_layer = ws::test::tls::test_server_layer();
  Handler echo;
  echo.on_message = [](const SessionPtr& session, const Message& message) {
    (void)session->send_text(message.text());
  };
  Result<posix::EpollServer> server =
      posix::EpollServer::listen(runner.loop(), server_options, echo);
  ASSERT_TRUE(server.has_value()) << server.error().message();
  runner.start();
  IoThread io;
  Seen seen;
  ClientOptions options;
  options.stream_layer = ws::test::tls::test_client_layer();
  Result<SessionPtr> session =
      ws::asio::connect(io.io, "wss://127.0.0.1:" + std::to_string(server->port()) + "/",
                        seen.handler("over tls"), options);
  ASSERT_TRUE(session.has_value()) << session.error().message();
  ASSERT_TRUE(eventually([&] { return seen.ended(); }, 5000ms));
  EXPECT_EQ(seen.snapshot(), (std::vector<std::string>{"open", "message over tls", "close"}));
  EXPECT_FALSE(seen.closed->error) << seen.closed->error.message();
  runner.stop();
}

TEST(AsioClient, ARefusedConnectEndsInOnCloseWithConnectionRefused) {
  IoThread io;
  Seen seen;
  const std::string url = "ws://127.0.0.1:" + std::to_string(unused_port()) + "/";
  Result<SessionPtr> session = ws::asio::connect(io.io, url, seen.handler());
  ASSERT_TRUE(session.has_value()) << session.error().message();
  ASSERT_TRUE(eventually([&] { return seen.ended(); }, 5000ms));
  EXPECT_EQ(seen.closed->error, std::errc::connection_refused) << seen.closed->error.message();
  EXPECT_EQ(seen.snapshot(), (std::vector<std::string>{"close"}));
}

TEST(AsioClient, ARejectedUpgradeIsToldThenClosed) {
  RedirectingServer server;
  IoThread io;
  Seen seen;
  Result<SessionPtr> session = ws::asio::connect(io.io, server.url("/forbidden"), seen.handler());
  ASSERT_TRUE(session.has_value()) << session.error().message();
  ASSERT_TRUE(eventually([&] { return seen.ended(); }, 5000ms));
  EXPECT_EQ(seen.snapshot(), (std::vector<std::string>{"rejected 403", "close"}));
  EXPECT_TRUE(seen.closed->error);
}

TEST(AsioClient, ASilentServerEndsAtTheHandshakeTimeout) {
  IoThread io;
  ::asio::ip::tcp::acceptor silent(io.io, {::asio::ip::address_v4::loopback(), 0});
  Seen seen;
  ClientOptions options;
  options.config.timeouts.handshake_timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  Result<SessionPtr> session = ws::asio::connect(
      io.io, "ws://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/",
      seen.handler(), options);
  ASSERT_TRUE(session.has_value()) << session.error().message();
  ASSERT_TRUE(eventually([&] { return seen.ended(); }, 5000ms));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(seen.closed->error, ws::errc::handshake_timeout) << seen.closed->error.message();
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
}

TEST(AsioClient, TheSessionClosesAConnectionStillBeingMade) {
  IoThread io;
  ::asio::ip::tcp::acceptor silent(io.io, {::asio::ip::address_v4::loopback(), 0});
  Seen seen;
  Result<SessionPtr> session = ws::asio::connect(
      io.io, "ws://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/",
      seen.handler());
  ASSERT_TRUE(session.has_value());
  (void)(*session)->close(CloseCode::normal);
  ASSERT_TRUE(eventually([&] { return seen.ended(); }, 5000ms));
  EXPECT_EQ(seen.closed->error, std::errc::operation_canceled) << seen.closed->error.message();
  EXPECT_EQ(seen.snapshot(), (std::vector<std::string>{"close"}));
}

TEST(AsioClient, BadInputIsReturnedWithoutACallback) {
  IoThread io;
  Seen seen;
  Result<SessionPtr> bad = ws::asio::connect(io.io, "http://127.0.0.1:1/", seen.handler());
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), ws::errc::invalid_url);
  // wss:// needs a TLS layer (ClientOptions::stream_layer).
  Result<SessionPtr> no_tls = ws::asio::connect(io.io, "wss://127.0.0.1:1/", seen.handler());
  ASSERT_FALSE(no_tls.has_value());
  EXPECT_EQ(no_tls.error(), ws::errc::invalid_url);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(seen.snapshot().empty());
}

bool contains(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

TEST(AsioResilientClient, FollowsARedirectChainToTheEnd) {
  RedirectingServer server;
  ResilienceLog log;
  IoThread io;
  std::shared_ptr<ResilientClient> client =
      start_resilient(io.io, server.url("/hop1"), log.handler(), log.events(), ResilientOptions{});
  ASSERT_TRUE(eventually([&] { return log.received().size() == 1; }, 5000ms));
  EXPECT_EQ(server.seen_paths(), (std::vector<std::string>{"/hop1", "/hop2", "/final"}));
  const std::vector<std::string> lines = log.snapshot();
  EXPECT_TRUE(contains(lines, "redirect 301 " + server.url("/hop2")));
  EXPECT_TRUE(contains(lines, "redirect 307 " + server.url("/final")));
  client->stop();
  ASSERT_TRUE(eventually([&] { return log.finished(); }, 5000ms));
  EXPECT_EQ(log.gave_up->reason, GiveUpReason::closed_by_application);
}

TEST(AsioResilientClient, ReconnectsAfterTheServerCloses) {
  RedirectingServer server(2);  // the first two connections are closed with 1012
  ResilienceLog log;
  IoThread io;
  std::shared_ptr<ResilientClient> client =
      start_resilient(io.io, server.url("/flaky"), log.handler(), log.events(), fast_reconnect());
  ASSERT_TRUE(eventually([&] { return log.received().size() == 1; }, 5000ms));
  const std::vector<std::string> lines = log.snapshot();
  EXPECT_TRUE(contains(lines, "reconnecting 1 closed with 1012"));
  EXPECT_TRUE(contains(lines, "reconnecting 2 closed with 1012"));
  EXPECT_TRUE(contains(lines, "reconnected 2"));
  EXPECT_EQ(log.open_count(), 3);
  EXPECT_NE(client->session(), nullptr);
  client->stop();
  ASSERT_TRUE(eventually([&] { return log.finished(); }, 5000ms));
}

// Two threads run the io_context: the client's strand still keeps every
// callback and event of the client apart (its owner thread is the strand).
TEST(AsioResilientClient, CallbacksNeverOverlapWithSeveralIoThreads) {
  RedirectingServer server(3);  // three closes with 1012, then an echo
  ::asio::io_context io;
  auto work = ::asio::make_work_guard(io);
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  std::atomic<int> opens{0};
  std::atomic<bool> echoed{false};
  std::atomic<bool> gave_up{false};
  // Holds each callback a little, so an overlap would be seen.
  const auto enter = [&] {
    if (inside.fetch_add(1) != 0) overlapped = true;
    std::this_thread::sleep_for(1ms);
    inside.fetch_sub(1);
  };
  Handler handler;
  handler.on_open = [&](const SessionPtr& session) {
    enter();
    ++opens;
    (void)session->send_text("hello");
  };
  handler.on_message = [&](const SessionPtr&, const Message&) {
    enter();
    echoed = true;
  };
  handler.on_close = [&](const SessionPtr&, const Closed&) { enter(); };
  ResilienceEvents events;
  events.on_reconnecting = [&](const ReconnectingEvent&) { enter(); };
  events.on_reconnected = [&](const SessionPtr&, std::uint32_t) { enter(); };
  events.on_gave_up = [&](const GaveUpEvent&) {
    enter();
    gave_up = true;
  };
  std::shared_ptr<ResilientClient> client =
      start_resilient(io, server.url("/flaky"), handler, events, fast_reconnect());
  std::thread first([&] { io.run(); });
  std::thread second([&] { io.run(); });
  EXPECT_TRUE(eventually([&] { return echoed.load(); }, 5000ms));
  client->stop();
  EXPECT_TRUE(eventually([&] { return gave_up.load(); }, 5000ms));
  work.reset();
  io.stop();
  first.join();
  second.join();
  EXPECT_EQ(opens.load(), 4);
  EXPECT_FALSE(overlapped.load());
}

TEST(AsioResilientClient, RetriesARefusedConnectThenGivesUp) {
  ResilienceLog log;
  IoThread io;
  ResilientOptions options = fast_reconnect();
  options.supervisor.reconnect_settings.max_attempts = 3;
  std::shared_ptr<ResilientClient> client =
      start_resilient(io.io, "ws://127.0.0.1:" + std::to_string(unused_port()) + "/", log.handler(),
                      log.events(), options);
  ASSERT_TRUE(eventually([&] { return log.finished(); }, 5000ms));
  EXPECT_EQ(log.gave_up->reason, GiveUpReason::attempts_exhausted);
  EXPECT_EQ(log.gave_up->attempts, 3U);
  EXPECT_TRUE(contains(log.snapshot(), "reconnecting 3 closed with 1006: Connection refused"));
}

}  // namespace
}  // namespace ws::asio
