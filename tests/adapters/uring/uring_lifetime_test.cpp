// Connections end and their memory goes: a peer that never reads is
// dropped at the write-stall timeout with its output bounded, graceful
// shutdown, connections still open when the loop is destroyed, sessions
// that outlive the loop. A completion for freed memory would show as a
// stale completion here and as an AddressSanitizer report.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "../posix/blocking_test_support.hpp"
#include "uring_test_support.hpp"

namespace ws::uring::test {
namespace {

TEST(UringLifetime, PeerThatNeverReadsIsDroppedAtTheWriteStallWithBoundedOutput) {
  WS_REQUIRE_URING();
  UringServerOptions options;
  options.write_stall_timeout = 300ms;
  options.backpressure.high_water = 1024 * 1024;
  options.backpressure.low_water = 256 * 1024;
  options.backpressure.policy = SlowSubscriberPolicy::drop_messages;
  ServerFixture fixture(std::move(options), /*echo=*/false);
  // Small socket buffers, set before the connect so the window is small.
  posix::test::RawClient peer(fixture.port(), /*socket_buffer_bytes=*/4096);
  ASSERT_EQ(peer.handshake().rfind("HTTP/1.1 101 ", 0), 0u);
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  const SessionPtr session = fixture.recorder.session();
  const Bytes chunk(256 * 1024, std::byte{0x5a});
  // Offered until the peer's window and the server's socket buffer are
  // full and the connection is dropped: what the policy refuses (the
  // backlog is past its mark) is retried a moment later.
  std::size_t accepted = 0;
  std::size_t refused = 0;
  std::size_t most_backlog = 0;
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (fixture.recorder.close_count() == 0 && std::chrono::steady_clock::now() < give_up) {
    if (session->send_binary(chunk)) {
      ++refused;
      std::this_thread::sleep_for(2ms);
    } else {
      accepted += chunk.size();
    }
    most_backlog = std::max(most_backlog, session->backlog_bytes());
  }
  EXPECT_GT(refused, 0u);  // the policy dropped what would pass the mark
  EXPECT_GT(accepted, std::size_t{1} << 20);
  // Bounded by the mark (plus one message), whatever was offered.
  EXPECT_LE(most_backlog, 1024 * 1024 + chunk.size() + 64 * 1024);
  ASSERT_TRUE(eventually([&] { return fixture.recorder.close_count() == 1; }, 5s));
  EXPECT_EQ(fixture.recorder.closes()[0].code, CloseCode::abnormal);
  EXPECT_EQ(fixture.recorder.closes()[0].error, std::errc::timed_out);
  // The send stuck in the kernel was cancelled and came back; then the
  // connection was freed.
  EXPECT_TRUE(eventually([&] { return fixture.server->connection_count() == 0; }));
  EXPECT_EQ(fixture.runner.loop().stats().stale_completions, 0u);
}

TEST(UringLifetime, ShutdownClosesEveryConnectionWith1001ThenCallsDone) {
  WS_REQUIRE_URING();
  constexpr std::size_t clients = 20;
  Recorder client_recorder;
  ServerFixture fixture;
  LoopThread client_loop;
  client_loop.start();
  UringClient client(client_loop.loop());
  for (std::size_t i = 0; i < clients; ++i) {
    ASSERT_TRUE(client.connect(fixture.url(), client_recorder.handler()));
  }
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == clients; }));
  std::atomic<bool> done{false};
  fixture.server->shutdown(2s, [&] { done = true; });
  ASSERT_TRUE(eventually([&] { return done.load(); }));
  EXPECT_EQ(fixture.server->connection_count(), 0u);
  ASSERT_TRUE(eventually([&] { return client_recorder.close_count() == clients; }));
  for (const auto& closed : client_recorder.closes()) EXPECT_EQ(closed.code, CloseCode::going_away);
  // No longer accepting.
  Recorder late;
  ASSERT_TRUE(client.connect(fixture.url(), late.handler()));
  ASSERT_TRUE(eventually([&] { return late.close_count() == 1; }));
  EXPECT_EQ(late.open_count(), 0u);
  EXPECT_EQ(fixture.runner.loop().stats().stale_completions, 0u);
}

TEST(UringLifetime, ShutdownDropsPeersThatDoNotAnswerAtTheTimeout) {
  WS_REQUIRE_URING();
  ServerFixture fixture;
  RawPeer peer(fixture.port());  // answers nothing after the handshake
  ASSERT_TRUE(peer.handshake());
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  std::atomic<bool> done{false};
  const auto started = std::chrono::steady_clock::now();
  fixture.server->shutdown(200ms, [&] { done = true; });
  ASSERT_TRUE(eventually([&] { return done.load(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 150ms);
  EXPECT_EQ(fixture.server->connection_count(), 0u);
  EXPECT_TRUE(peer.wait_for_eof());
}

TEST(UringLifetime, ConnectionCountReturnsToZeroAfterManyConnectAndCloseRounds) {
  WS_REQUIRE_URING();
  ServerFixture fixture;
  LoopThread client_loop;
  client_loop.start();
  UringClient client(client_loop.loop());
  for (int round = 0; round < 5; ++round) {
    Recorder client_recorder;
    std::vector<SessionPtr> sessions;
    for (int i = 0; i < 30; ++i) {
      Result<SessionPtr> session = client.connect(fixture.url(), client_recorder.handler());
      ASSERT_TRUE(session);
      ASSERT_FALSE((*session)->send_text("hello"));
      sessions.push_back(*session);
    }
    ASSERT_TRUE(eventually([&] { return client_recorder.message_count() == 30; }));
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      if (i % 2 == 0) {
        sessions[i]->close(1000);
      } else {
        sessions[i]->abort();  // the server sees the socket vanish
      }
    }
    ASSERT_TRUE(eventually([&] { return client_recorder.close_count() == 30; }));
    ASSERT_TRUE(eventually([&] { return fixture.server->connection_count() == 0; }));
  }
  EXPECT_EQ(fixture.runner.loop().stats().stale_completions, 0u);
  EXPECT_EQ(client_loop.loop().stats().stale_completions, 0u);
}

TEST(UringLifetime, LoopDestroyedWithOpenConnectionsCancelsTheirOperations) {
  WS_REQUIRE_URING();
  Recorder server_recorder;
  Recorder client_recorder;
  SessionPtr kept;
  {
    LoopThread runner;
    Result<UringServer> server =
        UringServer::listen(runner.loop(), UringServerOptions{}, server_recorder.handler(true));
    ASSERT_TRUE(server);
    runner.start();
    UringClient client(runner.loop());
    for (int i = 0; i < 10; ++i) {
      Result<SessionPtr> session = client.connect(
          "ws://127.0.0.1:" + std::to_string(server->port()) + "/", client_recorder.handler());
      ASSERT_TRUE(session);
      if (i == 0) kept = *session;
    }
    ASSERT_TRUE(eventually([&] { return server_recorder.open_count() == 10; }));
    // A large send in flight in every direction when the loop goes.
    for (std::size_t i = 0; i < 10; ++i) {
      (void)server_recorder.session(i)->send_binary(Bytes(4 << 20, std::byte{1}));
    }
    runner.stop();
    // The server, then the loop (with its receives and sends) go here.
  }
  EXPECT_EQ(kept->state(), SessionState::closed);
  EXPECT_TRUE(kept->send_text("after the loop"));  // refused, not a crash
}

}  // namespace
}  // namespace ws::uring::test
