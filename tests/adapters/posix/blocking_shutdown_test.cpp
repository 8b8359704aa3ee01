// Blocking adapter: graceful shutdown through a BlockingConnectionSet. Every
// connection is closed with 1001; those that answer end cleanly, the rest
// are aborted at the timeout; new upgrades get 503. (The shutdown runs on
// another thread than the connections, hence "Threads".)
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "blocking_test_support.hpp"
#include "ws/base/error.hpp"

namespace ws::posix::test {
namespace {

using Type = OwnedEvent::Type;

TEST(BlockingShutdownThreads, CloseAllWaitsForTheHandshakesAndAbortsTheSilent) {
  Listener listener;
  BlockingConnectionSet connections;
  BlockingOptions options;
  options.connections = &connections;

  constexpr std::size_t kConnections = 3;
  std::vector<std::unique_ptr<Recorder>> handlers;
  std::vector<std::unique_ptr<ServerThread>> threads;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (std::size_t i = 0; i < kConnections; ++i) {
    handlers.push_back(std::make_unique<Recorder>());
    threads.push_back(std::make_unique<ServerThread>(listener, *handlers.back(), options));
    clients.push_back(std::make_unique<RawClient>(listener.port));
    ASSERT_EQ(clients.back()->handshake().rfind("HTTP/1.1 101 ", 0), 0U);
    ASSERT_NE(handlers.back()->wait_for_session(), nullptr);
  }
  EXPECT_EQ(connections.size(), kConnections);

  // The first two clients answer the close; the last one stays silent.
  std::vector<std::thread> answering;
  for (std::size_t i = 0; i + 1 < kConnections; ++i) {
    answering.emplace_back([client = clients[i].get()] {
      const std::optional<OwnedEvent> close = client->next_event();
      ASSERT_TRUE(close.has_value());
      EXPECT_EQ(close->type, Type::closed);
      EXPECT_EQ(close->code, CloseCode::going_away);
      client->send_decoder_output();
    });
  }
  EXPECT_EQ(connections.close_all(300ms, CloseCode::going_away, "maintenance"), 1U);
  for (std::thread& thread : answering) thread.join();
  EXPECT_EQ(connections.size(), 0U);

  for (std::size_t i = 0; i + 1 < kConnections; ++i) {
    EXPECT_FALSE(threads[i]->result());
    ASSERT_TRUE(handlers[i]->closed().has_value());
    EXPECT_FALSE(handlers[i]->closed()->error);
  }
  EXPECT_EQ(threads.back()->result(), std::errc::operation_canceled);

  // Later upgrades are turned away.
  Recorder late;
  ServerThread late_thread(listener, late, options);
  RawClient late_client(listener.port);
  EXPECT_EQ(late_client.handshake().rfind("HTTP/1.1 503 ", 0), 0U);
  EXPECT_EQ(late_thread.result(), errc::rejected_by_application);
}

TEST(BlockingShutdownThreads, CloseAllWithNoConnectionsReturnsAtOnce) {
  BlockingConnectionSet connections;
  EXPECT_EQ(connections.close_all(10s), 0U);
  EXPECT_TRUE(connections.shutting_down());
}

}  // namespace
}  // namespace ws::posix::test
