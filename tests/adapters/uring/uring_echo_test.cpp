// Messages through the io_uring transport over real loopback sockets: a
// UringClient and a UringServer on loops of their own, many messages, many
// connections, zero-copy sends, and the counters benchmarks read.
#include <gtest/gtest.h>

#include <numeric>

#include "uring_test_support.hpp"

namespace ws::uring::test {
namespace {

std::string payload_for(std::size_t n) {
  std::string text(n % 3000, 'a');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + (i + n) % 26);
  return std::to_string(n) + ":" + text;
}

TEST(UringEcho, ListensOnAFreePortAndReportsItsStats) {
  WS_REQUIRE_URING();
  ServerFixture fixture;
  ASSERT_TRUE(fixture.server.has_value());
  EXPECT_NE(fixture.port(), 0);
  EXPECT_FALSE(fixture.runner.loop().creation_error());
  EXPECT_TRUE(fixture.runner.loop().creation_message().empty());
}

TEST(UringEcho, EchoesThousandsOfMessagesInOrder) {
  WS_REQUIRE_URING();
  constexpr std::size_t count = 3000;
  Recorder client_recorder;
  ServerFixture fixture;
  LoopThread client_loop;
  client_loop.start();
  UringClientOptions client_options;  // all queued at once: no policy in the way
  client_options.backpressure.high_water = 64 * 1024 * 1024;
  client_options.backpressure.low_water = 16 * 1024 * 1024;
  UringClient client(client_loop.loop(), client_options);
  Result<SessionPtr> session = client.connect(fixture.url(), client_recorder.handler());
  ASSERT_TRUE(session);
  for (std::size_t n = 0; n < count; ++n) ASSERT_FALSE((*session)->send_text(payload_for(n)));
  ASSERT_TRUE(eventually([&] { return client_recorder.message_count() == count; }, 20s));
  const std::vector<OwnedEvent> messages = client_recorder.messages();
  for (std::size_t n = 0; n < count; ++n) ASSERT_EQ(messages[n].text(), payload_for(n)) << n;

  const UringStats stats = fixture.runner.loop().stats();
  EXPECT_GT(stats.enter_calls, 0u);
  EXPECT_GT(stats.sqes_submitted, 0u);
  EXPECT_GE(stats.cqes_handled, count / 64);  // receives and sends gather many messages
  EXPECT_GT(stats.sends, 0u);
  EXPECT_GT(stats.bytes_received, 0u);
  EXPECT_EQ(stats.stale_completions, 0u);
  // Batching: far fewer kernel entries than messages moved both ways.
  EXPECT_LT(stats.enter_calls, 2 * count);
}

TEST(UringEcho, EchoesLargeBinaryMessagesIntact) {
  WS_REQUIRE_URING();
  Recorder client_recorder;
  ServerFixture fixture;
  LoopThread client_loop;
  client_loop.start();
  UringClient client(client_loop.loop());
  Result<SessionPtr> session = client.connect(fixture.url(), client_recorder.handler());
  ASSERT_TRUE(session);
  std::vector<Bytes> sent;
  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{125},
                                 std::size_t{65536}, std::size_t{1} << 20, std::size_t{4} << 20}) {
    Bytes payload(size);
    for (std::size_t i = 0; i < size; ++i)
      payload[i] = static_cast<std::byte>((i * 7 + size) & 0xff);
    ASSERT_FALSE((*session)->send_binary(payload));
    sent.push_back(std::move(payload));
  }
  ASSERT_TRUE(eventually([&] { return client_recorder.message_count() == sent.size(); }, 20s));
  const std::vector<OwnedEvent> messages = client_recorder.messages();
  for (std::size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(messages[i].payload, sent[i]) << i;
}

TEST(UringEcho, ZeroCopySendsEchoIntact) {
  WS_REQUIRE_URING();
  if (!probe().zero_copy_send) GTEST_SKIP() << "no IORING_OP_SENDMSG_ZC";
  UringServerOptions options;
  options.zero_copy_send = true;
  Recorder client_recorder;
  ServerFixture fixture(std::move(options));
  LoopThread client_loop;
  client_loop.start();
  UringClientOptions client_options;  // 16 MiB queued at once: no policy in the way
  client_options.backpressure.high_water = 64 * 1024 * 1024;
  client_options.backpressure.low_water = 16 * 1024 * 1024;
  UringClient client(client_loop.loop(), client_options);
  Result<SessionPtr> session = client.connect(fixture.url(), client_recorder.handler());
  ASSERT_TRUE(session);
  constexpr std::size_t count = 64;
  for (std::size_t n = 0; n < count; ++n) {
    Bytes payload(256 * 1024 + n);
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::byte>(i + n);
    ASSERT_FALSE((*session)->send_binary(payload));
  }
  ASSERT_TRUE(eventually([&] { return client_recorder.message_count() == count; }, 20s));
  const std::vector<OwnedEvent> messages = client_recorder.messages();
  for (std::size_t n = 0; n < count; ++n) {
    ASSERT_EQ(messages[n].payload.size(), 256 * 1024 + n);
    for (std::size_t i = 0; i < messages[n].payload.size(); i += 997) {
      ASSERT_EQ(messages[n].payload[i], static_cast<std::byte>(i + n)) << n << " at " << i;
    }
  }
  EXPECT_EQ(fixture.runner.loop().stats().stale_completions, 0u);
}

TEST(UringEcho, TwoHundredClientsEchoAtOnce) {
  WS_REQUIRE_URING();
  constexpr std::size_t clients = 200;
  constexpr std::size_t per_client = 20;
  std::vector<std::unique_ptr<Recorder>> recorders;
  for (std::size_t i = 0; i < clients; ++i) recorders.push_back(std::make_unique<Recorder>());
  ServerFixture fixture;
  LoopThread client_loop;
  client_loop.start();
  UringClient client(client_loop.loop());
  std::vector<SessionPtr> sessions;
  for (std::size_t i = 0; i < clients; ++i) {
    Result<SessionPtr> session = client.connect(fixture.url(), recorders[i]->handler());
    ASSERT_TRUE(session);
    sessions.push_back(*session);
  }
  for (std::size_t n = 0; n < per_client; ++n) {
    for (std::size_t i = 0; i < clients; ++i) {
      ASSERT_FALSE(sessions[i]->send_text(std::to_string(i) + "/" + std::to_string(n)));
    }
  }
  for (std::size_t i = 0; i < clients; ++i) {
    ASSERT_TRUE(eventually([&] { return recorders[i]->message_count() == per_client; }, 20s))
        << "client " << i;
    const std::vector<OwnedEvent> messages = recorders[i]->messages();
    for (std::size_t n = 0; n < per_client; ++n) {
      EXPECT_EQ(messages[n].text(), std::to_string(i) + "/" + std::to_string(n));
    }
  }
  EXPECT_EQ(fixture.server->connection_count(), clients);
  for (const SessionPtr& session : sessions) session->close(1000);
  EXPECT_TRUE(eventually([&] { return fixture.server->connection_count() == 0; }));
}

TEST(UringClient, ReportsARefusedConnect) {
  WS_REQUIRE_URING();
  // A port nobody listens on: bind one, read it, close it.
  std::uint16_t port = 0;
  {
    Result<posix::FileDescriptor> listener = posix::listen_tcp("127.0.0.1", 0, 1);
    ASSERT_TRUE(listener);
    port = posix::local_port(listener->get());
  }
  Recorder recorder;
  LoopThread runner;
  runner.start();
  UringClient client(runner.loop());
  ASSERT_TRUE(client.connect("ws://127.0.0.1:" + std::to_string(port) + "/", recorder.handler()));
  ASSERT_TRUE(eventually([&] { return recorder.close_count() == 1; }));
  EXPECT_EQ(recorder.closes()[0].error, std::errc::connection_refused);
  EXPECT_EQ(recorder.open_count(), 0u);
}

TEST(UringClient, RefusesWssWithoutAStreamLayerAndBadUrls) {
  WS_REQUIRE_URING();
  LoopThread runner;
  UringClient client(runner.loop());
  Recorder recorder;
  Result<SessionPtr> secure = client.connect("wss://127.0.0.1:1/", recorder.handler());
  ASSERT_FALSE(secure);
  EXPECT_EQ(secure.error(), errc::invalid_url);
  Result<SessionPtr> bad = client.connect("http://127.0.0.1/", recorder.handler());
  ASSERT_FALSE(bad);
}

TEST(UringClient, MessagesSentBeforeOpenWaitForTheHandshake) {
  WS_REQUIRE_URING();
  Recorder client_recorder;
  ServerFixture fixture;
  UringClient client(fixture.runner.loop());
  Result<SessionPtr> session = client.connect(fixture.url(), client_recorder.handler());
  ASSERT_TRUE(session);
  EXPECT_FALSE((*session)->send_text("early"));
  ASSERT_TRUE(eventually([&] { return client_recorder.message_count() == 1; }));
  EXPECT_EQ(client_recorder.messages()[0].text(), "early");
}

}  // namespace
}  // namespace ws::uring::test
