// The Redis backplane on its own thread (for the blocking thread-per-
// connection servers) and on an Asio io_context: the same cross-node
// delivery, and recovery after Redis is killed and started again.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis_test_support.hpp"
#include "ws/channels/registry.hpp"
#include "ws/redis/backplane.hpp"
#if WS_REDIS_HAVE_ASIO
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include "ws/redis/asio_backplane.hpp"
#endif

namespace ws::redis {
namespace {

using test::eventually;
using test::RecordingSubscriber;
using test::RedisServer;
using namespace std::chrono_literals;

RedisBackplaneOptions test_options(std::uint16_t port) {
  RedisBackplaneOptions options;
  options.endpoint.port = port;
  options.channel_prefix = "ws-test:";
  options.reconnect_min = 10ms;
  options.reconnect_max = 100ms;
  return options;
}

#define WS_REQUIRE_REDIS_SERVER()                                                        \
  if (!RedisServer::binary()) {                                                          \
    GTEST_FAIL() << "redis-server is not installed (Debian package redis-server, which " \
                    "scripts/test installs): "                                           \
                    "the Redis backplane tests need it";                                 \
  }

/// Two nodes: publishes from node one reach the member on node two and the
/// member on node one, once each, in order; then Redis dies and comes back.
void exercise_two_nodes(RedisServer& redis, channels::Registry& one, RedisBackplane& one_backplane,
                        channels::Registry& two, RedisBackplane& two_backplane) {
  auto near = std::make_shared<RecordingSubscriber>();
  auto far = std::make_shared<RecordingSubscriber>();
  one.join("room", near);
  two.join("room", far);
  auto ready = [&] {
    return one_backplane.stats().subscribed_channels == 1 &&
           two_backplane.stats().subscribed_channels == 1 &&
           one_backplane.stats().publisher_connected;
  };
  ASSERT_TRUE(eventually(ready));
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(one.try_publish("room", MessageKind::text, as_bytes(std::to_string(i))).ok());
  }
  ASSERT_TRUE(eventually([&] { return near->count() == 100 && far->count() == 100; }));

  redis.kill();
  ASSERT_TRUE(eventually([&] { return !one_backplane.stats().publisher_connected; }));
  EXPECT_FALSE(one.try_publish("room", MessageKind::text, as_bytes("lost")).ok());
  ASSERT_TRUE(redis.start());
  ASSERT_TRUE(eventually(ready));
  for (int i = 100; i < 200; ++i) {
    EXPECT_TRUE(one.try_publish("room", MessageKind::text, as_bytes(std::to_string(i))).ok());
  }
  ASSERT_TRUE(eventually([&] { return near->count() == 200 && far->count() == 200; }));
  std::this_thread::sleep_for(30ms);
  for (const auto& member : {near, far}) {
    const std::vector<std::string> texts = member->texts();
    ASSERT_EQ(texts.size(), 200U);
    for (int i = 0; i < 200; ++i) EXPECT_EQ(texts[static_cast<std::size_t>(i)], std::to_string(i));
  }
}

TEST(RedisOwnThreadThreads, CrossNodeDeliveryAndRecoveryOnABackplaneThread) {
  WS_REQUIRE_REDIS_SERVER();
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  channels::Registry one;
  channels::Registry two;
  std::unique_ptr<RedisBackplane> one_backplane =
      RedisBackplane::on_own_thread(one, test_options(redis.port()));
  std::unique_ptr<RedisBackplane> two_backplane =
      RedisBackplane::on_own_thread(two, test_options(redis.port()));
  exercise_two_nodes(redis, one, *one_backplane, two, *two_backplane);
  // Destroyed from this thread: each stops and joins its own thread.
  one_backplane.reset();
  two_backplane.reset();
}

TEST(RedisOwnThreadThreads, DestroyingWhileRedisIsUnreachableIsPrompt) {
  channels::Registry registry;
  RedisBackplaneOptions options = test_options(test::free_loopback_port());
  auto backplane = RedisBackplane::on_own_thread(registry, options);
  auto member = std::make_shared<RecordingSubscriber>();
  registry.join("room", member);
  EXPECT_EQ(registry.try_publish("room", MessageKind::text, as_bytes("x")).error,
            channels::BackplaneErrc::unavailable);
  const auto started = std::chrono::steady_clock::now();
  backplane.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  // The registry is in-process again.
  EXPECT_EQ(registry.publish("room", MessageKind::text, as_bytes("local")), 1U);
}

#if WS_REDIS_HAVE_ASIO
TEST(RedisAsioThreads, CrossNodeDeliveryAndRecoveryOnAnIoContext) {
  WS_REQUIRE_REDIS_SERVER();
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  channels::Registry one;
  channels::Registry two;
  std::unique_ptr<RedisBackplane> one_backplane = on_asio(io, one, test_options(redis.port()));
  std::unique_ptr<RedisBackplane> two_backplane = on_asio(io, two, test_options(redis.port()));
  std::thread runner([&] { io.run(); });
  exercise_two_nodes(redis, one, *one_backplane, two, *two_backplane);
  work.reset();
  io.stop();
  runner.join();
  // io is not running: destroying is allowed.
  one_backplane.reset();
  two_backplane.reset();
}
#endif

}  // namespace
}  // namespace ws::redis
