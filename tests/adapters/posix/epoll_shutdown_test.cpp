// Graceful shutdown: every client sees 1001 and the server finishes within
// its timeout, also when a peer never answers the close.
#include <gtest/gtest.h>

#include <atomic>

#include "epoll_test_support.hpp"

namespace ws::posix::epoll_test {
namespace {

TEST(EpollShutdown, ClosesEveryConnectionWith1001ThenStopsTheLoop) {
  Recorder server_recorder;
  Recorder client_recorder;
  EpollLoop loop;
  Result<EpollServer> server = EpollServer::listen(loop, {}, server_recorder.handler());
  ASSERT_TRUE(server);
  EpollClient client(loop);
  constexpr std::size_t clients = 20;
  for (std::size_t i = 0; i < clients; ++i) {
    ASSERT_TRUE(client.connect("ws://127.0.0.1:" + std::to_string(server->port()) + "/",
                               client_recorder.handler()));
  }
  std::atomic<bool> done{false};
  std::thread runner([&] { EXPECT_FALSE(loop.run()); });
  ASSERT_TRUE(eventually([&] { return client_recorder.open_count() == clients; }));
  ASSERT_TRUE(eventually([&] { return server_recorder.open_count() == clients; }));

  server->shutdown(std::chrono::seconds(5), [&] {
    done = true;
    loop.stop();
  });
  runner.join();  // returns only through on_done's stop()
  EXPECT_TRUE(done.load());
  EXPECT_EQ(server->connection_count(), 0u);
  ASSERT_EQ(server_recorder.close_count(), clients);
  for (const RecordedClose& closed : server_recorder.closes()) {
    EXPECT_EQ(closed.code, CloseCode::going_away);  // the client echoed 1001
    EXPECT_FALSE(closed.error);
  }
  // Clients wait for the server's end of stream: give the loop a moment more.
  std::thread finisher([&] { loop.run(); });
  EXPECT_TRUE(eventually([&] { return client_recorder.close_count() == clients; }));
  loop.stop();
  finisher.join();
  for (const RecordedClose& closed : client_recorder.closes()) {
    EXPECT_EQ(closed.code, CloseCode::going_away);  // RFC 6455 7.4.1
    EXPECT_FALSE(closed.error);
  }
}

TEST(EpollShutdown, DropsPeersThatDoNotAnswerWhenTheTimeoutEnds) {
  ServerFixture fixture;
  RawPeer silent(fixture.port());  // completes the handshake, then ignores everything
  ASSERT_TRUE(silent.handshake());
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  std::atomic<bool> done{false};
  const auto started = std::chrono::steady_clock::now();
  fixture.server->shutdown(std::chrono::milliseconds(200), [&] { done = true; });
  ASSERT_TRUE(eventually([&] { return done.load(); }, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(150));
  std::optional<OwnedEvent> close = silent.next_event();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->type, OwnedEvent::Type::closed);
  EXPECT_EQ(close->code, CloseCode::going_away);
  EXPECT_TRUE(silent.wait_for_eof());
  ASSERT_EQ(fixture.recorder.close_count(), 1u);
  EXPECT_EQ(fixture.recorder.closes()[0].error, std::errc::operation_canceled);
}

TEST(EpollShutdown, StopsAcceptingNewConnections) {
  ServerFixture fixture;
  std::atomic<bool> done{false};
  fixture.server->shutdown(std::chrono::seconds(1), [&] { done = true; });
  ASSERT_TRUE(eventually([&] { return done.load(); }));
  RawPeer late(fixture.port());
  EXPECT_FALSE(late.connected() && late.handshake());
}

}  // namespace
}  // namespace ws::posix::epoll_test
