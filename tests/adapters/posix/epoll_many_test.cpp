// Many connections on one loop at once: each message comes back exactly
// once and in order, whatever the interleaving.
#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "epoll_test_support.hpp"

namespace ws::posix::epoll_test {
namespace {

TEST(EpollManyConnections, TwoHundredClientsEchoAtOnce) {
  constexpr std::size_t clients = 200;
  constexpr std::size_t messages_each = 50;
  // Each client checks its echoes arrive in order: message n must be "c:n".
  std::mutex mutex;
  std::map<const EpollSession*, std::size_t> received;
  std::atomic<std::size_t> out_of_order{0};
  std::atomic<std::size_t> total{0};
  std::atomic<std::size_t> opened{0};
  EpollHandler handler;
  handler.on_open = [&](const EpollSessionPtr& session) {
    opened.fetch_add(1);
    for (std::size_t n = 0; n < messages_each; ++n) {
      session->send_text(std::to_string(reinterpret_cast<std::uintptr_t>(session.get())) + ":" +
                         std::to_string(n));
    }
  };
  handler.on_message = [&](const EpollSessionPtr& session, const Message& message) {
    std::lock_guard lock(mutex);
    std::size_t& next = received[session.get()];
    const std::string expected = std::to_string(reinterpret_cast<std::uintptr_t>(session.get())) +
                                 ":" + std::to_string(next);
    if (message.text() != expected) out_of_order.fetch_add(1);
    ++next;
    total.fetch_add(1);
  };
  // Declared after the state the callbacks use, so the loops stop first.
  ServerFixture server;  // the server loop runs on its own thread
  LoopThread client_loop;
  client_loop.start();
  EpollClient client(client_loop.loop());
  std::vector<EpollSessionPtr> sessions;
  for (std::size_t i = 0; i < clients; ++i) {
    Result<EpollSessionPtr> session = client.connect(server.url(), handler);
    ASSERT_TRUE(session) << session.error().message();
    sessions.push_back(*session);
  }
  ASSERT_TRUE(eventually([&] { return opened.load() == clients; }, 30s));
  ASSERT_TRUE(eventually([&] { return total.load() == clients * messages_each; }, 30s))
      << total.load();
  EXPECT_EQ(out_of_order.load(), 0u);
  EXPECT_EQ(server.server->connection_count(), clients);
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(received.size(), clients);
    for (const auto& [session, count] : received) EXPECT_EQ(count, messages_each);
  }
  // And nothing arrives twice: wait a little longer for stragglers.
  EXPECT_FALSE(eventually([&] { return total.load() > clients * messages_each; }, 100ms));

  for (const EpollSessionPtr& session : sessions) session->close();
  EXPECT_TRUE(eventually([&] { return server.server->connection_count() == 0; }, 30s));
  client_loop.stop();
}

}  // namespace
}  // namespace ws::posix::epoll_test
