// The Redis backplane on the epoll loop, against a real redis-server that
// the tests start (and kill, and start again) on a free loopback port.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis_test_support.hpp"
#include "ws/channels/registry.hpp"
#include "ws/posix/epoll_loop.hpp"
#include "ws/redis/backplane.hpp"

namespace ws::redis {
namespace {

using channels::BackplaneErrc;
using channels::PublishStatus;
using test::eventually;
using test::RecordingSubscriber;
using test::RedisServer;
using namespace std::chrono_literals;

struct Node {
  channels::Registry registry;
  std::unique_ptr<RedisBackplane> backplane;

  std::size_t subscribed() const { return backplane->stats().subscribed_channels; }
};

/// Nodes on one EpollLoop that runs on its own thread during the test.
class RedisEpollThreads : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::binary()) {
      GTEST_FAIL() << "redis-server is not installed (Debian package redis-server, which "
                      "scripts/test installs): "
                      "the Redis backplane tests need it";
    }
    ASSERT_TRUE(redis_.start()) << "redis-server did not start";
  }

  void TearDown() override {
    stop_loop();
    nodes_.clear();  // the loop is not running: allowed
  }

  RedisBackplaneOptions options() const {
    RedisBackplaneOptions options;
    options.endpoint.port = redis_.port();
    options.channel_prefix = "ws-test:";
    options.reconnect_min = 10ms;
    options.reconnect_max = 100ms;
    options.buffer_resume_delay = 300ms;
    return options;
  }

  Node& add_node(RedisBackplaneOptions node_options) {
    nodes_.push_back(std::make_unique<Node>());
    Node& node = *nodes_.back();
    node.backplane = RedisBackplane::on_epoll(loop_, node.registry, std::move(node_options));
    return node;
  }

  void start_loop() {
    thread_ = std::thread([this] { (void)loop_.run(); });
  }
  void stop_loop() {
    loop_.stop();
    if (thread_.joinable()) thread_.join();
  }

  /// Redis confirmed every channel each node has members in.
  bool all_subscribed() const {
    for (const auto& node : nodes_) {
      if (node->backplane && node->subscribed() != node->registry.channel_names().size()) {
        return false;
      }
    }
    return true;
  }

  RedisServer redis_;
  posix::EpollLoop loop_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::thread thread_;
};

// Each member hears "<publisher><n>" for n = 0, 1, ... from each publisher.
void expect_each_once_in_order(const std::vector<std::string>& texts,
                               const std::map<char, int>& per_publisher) {
  std::map<char, int> next;
  for (const std::string& text : texts) {
    const char publisher = text.front();
    EXPECT_EQ(std::stoi(text.substr(1)), next[publisher]++) << text;
  }
  for (const auto& [publisher, count] : per_publisher) EXPECT_EQ(next[publisher], count);
}

TEST_F(RedisEpollThreads, EveryMemberOnEveryNodeHearsEachMessageOnceInEachPublishersOrder) {
  std::vector<std::shared_ptr<RecordingSubscriber>> members;
  for (int n = 0; n < 3; ++n) {
    Node& node = add_node(options());
    for (int m = 0; m < 2; ++m) {
      members.push_back(std::make_shared<RecordingSubscriber>());
      node.registry.join("room", members.back());
    }
  }
  start_loop();
  ASSERT_TRUE(eventually([&] { return all_subscribed(); }));
  constexpr int count = 300;
  std::thread second([&] {
    for (int i = 0; i < count; ++i) {
      EXPECT_TRUE(
          nodes_[1]
              ->registry.try_publish("room", MessageKind::text, as_bytes("b" + std::to_string(i)))
              .ok());
    }
  });
  for (int i = 0; i < count; ++i) {
    const channels::PublishResult result = nodes_[0]->registry.try_publish(
        "room", MessageKind::text, as_bytes("a" + std::to_string(i)));
    EXPECT_EQ(result.status, PublishStatus::sent);
    EXPECT_EQ(result.local_deliveries, 0U);  // heard when it comes back from Redis
  }
  second.join();
  ASSERT_TRUE(eventually([&] {
    for (const auto& member : members) {
      if (member->count() < 2 * count) return false;
    }
    return true;
  }));
  std::this_thread::sleep_for(50ms);  // a duplicate would arrive by now
  for (const auto& member : members) {
    EXPECT_EQ(member->count(), 2U * count);
    expect_each_once_in_order(member->texts(), {{'a', count}, {'b', count}});
  }
  // Framed once per node: the two members of a node share each frame.
  EXPECT_EQ(members[0]->frame(0), members[1]->frame(0));
  EXPECT_NE(members[0]->frame(0), members[2]->frame(0));
}

TEST_F(RedisEpollThreads, ChannelsNeverMixAcrossNodes) {
  Node& one = add_node(options());
  Node& two = add_node(options());
  auto red = std::make_shared<RecordingSubscriber>();
  auto blue = std::make_shared<RecordingSubscriber>();
  one.registry.join("red", red);
  two.registry.join("blue", blue);
  start_loop();
  ASSERT_TRUE(eventually([&] { return all_subscribed(); }));
  for (int i = 0; i < 20; ++i) {
    two.registry.publish("red", MessageKind::text, as_bytes("r" + std::to_string(i)));
    one.registry.publish("blue", MessageKind::binary, as_bytes("b" + std::to_string(i)));
  }
  ASSERT_TRUE(eventually([&] { return red->count() == 20 && blue->count() == 20; }));
  for (const std::string& text : red->texts()) EXPECT_EQ(text.front(), 'r');
  for (const std::string& text : blue->texts()) EXPECT_EQ(text.front(), 'b');
}

TEST_F(RedisEpollThreads, LeavingUnsubscribesAndJoiningAgainHearsOnce) {
  Node& one = add_node(options());
  Node& two = add_node(options());
  auto far = std::make_shared<RecordingSubscriber>();
  auto near = std::make_shared<RecordingSubscriber>();
  one.registry.join("room", near);
  start_loop();
  // Churn: the last member leaves and joins again many times, quickly.
  for (int i = 0; i < 50; ++i) {
    two.registry.join("room", far);
    two.registry.leave("room", far.get());
  }
  two.registry.join("room", far);
  ASSERT_TRUE(eventually([&] { return all_subscribed(); }));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(all_subscribed());
  one.registry.publish("room", MessageKind::text, as_bytes("a0"));
  ASSERT_TRUE(eventually([&] { return far->count() == 1 && near->count() == 1; }));
  two.registry.leave("room", far.get());
  ASSERT_TRUE(eventually([&] { return two.subscribed() == 0; }));
  one.registry.publish("room", MessageKind::text, as_bytes("a1"));
  ASSERT_TRUE(eventually([&] { return near->count() == 2; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(far->texts(), std::vector<std::string>{"a0"});
}

TEST_F(RedisEpollThreads, WhileRedisIsDownPublishesAreRejectedAndDeliveryResumesAfterARestart) {
  std::atomic<int> connection_changes{0};
  RedisBackplaneOptions watched = options();
  watched.on_connection = [&](bool) { ++connection_changes; };
  Node& one = add_node(watched);
  Node& two = add_node(options());
  auto far = std::make_shared<RecordingSubscriber>();
  two.registry.join("room", far);
  start_loop();
  ASSERT_TRUE(
      eventually([&] { return all_subscribed() && one.backplane->stats().publisher_connected; }));
  one.registry.publish("room", MessageKind::text, as_bytes("a0"));
  ASSERT_TRUE(eventually([&] { return far->count() == 1; }));

  redis_.kill();
  ASSERT_TRUE(eventually([&] { return !one.backplane->stats().publisher_connected; }));
  const channels::PublishResult refused =
      one.registry.try_publish("room", MessageKind::text, as_bytes("lost"));
  EXPECT_EQ(refused.status, PublishStatus::failed);
  EXPECT_EQ(refused.error, BackplaneErrc::unavailable);
  // Local serving goes on: joins and leaves still work.
  auto late = std::make_shared<RecordingSubscriber>();
  EXPECT_TRUE(one.registry.join("room", late));
  EXPECT_EQ(one.registry.member_count("room"), 1U);

  ASSERT_TRUE(redis_.start());
  ASSERT_TRUE(
      eventually([&] { return all_subscribed() && one.backplane->stats().publisher_connected; }));
  one.registry.publish("room", MessageKind::text, as_bytes("a1"));
  ASSERT_TRUE(eventually([&] { return far->count() == 2 && late->count() == 1; }));
  EXPECT_EQ(far->texts(), (std::vector<std::string>{"a0", "a1"}));
  EXPECT_GE(one.backplane->stats().reconnects, 2U);  // both connections
  EXPECT_GE(connection_changes.load(), 3);           // up, down, up
}

TEST_F(RedisEpollThreads, TheBufferPolicyKeepsPublishesAcrossAnOutageInOrderAndBounded) {
  RedisBackplaneOptions buffering = options();
  buffering.outage = OutagePolicy::buffer;
  buffering.buffer_messages = 40;
  Node& one = add_node(buffering);
  Node& two = add_node(options());
  auto near = std::make_shared<RecordingSubscriber>();
  auto far = std::make_shared<RecordingSubscriber>();
  one.registry.join("room", near);
  two.registry.join("room", far);
  start_loop();
  ASSERT_TRUE(
      eventually([&] { return all_subscribed() && one.backplane->stats().publisher_connected; }));
  redis_.kill();
  ASSERT_TRUE(eventually([&] { return !one.backplane->stats().publisher_connected; }));
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(one.registry.try_publish("room", MessageKind::text, as_bytes("a" + std::to_string(i)))
                  .status,
              PublishStatus::buffered);
  }
  EXPECT_EQ(one.registry.try_publish("room", MessageKind::text, as_bytes("over")).error,
            BackplaneErrc::buffer_full);
  ASSERT_TRUE(redis_.start());
  ASSERT_TRUE(eventually([&] { return near->count() == 40 && far->count() == 40; }));
  expect_each_once_in_order(near->texts(), {{'a', 40}});
  expect_each_once_in_order(far->texts(), {{'a', 40}});
}

TEST_F(RedisEpollThreads, TheDropPolicySignalsEachDroppedPublish) {
  std::atomic<std::size_t> dropped{0};
  RedisBackplaneOptions dropping = options();
  dropping.outage = OutagePolicy::drop;
  dropping.on_lost = [&](LostReason reason, std::size_t count) {
    if (reason == LostReason::dropped) dropped += count;
  };
  Node& one = add_node(dropping);
  start_loop();
  ASSERT_TRUE(eventually([&] { return one.backplane->stats().publisher_connected; }));
  redis_.kill();
  ASSERT_TRUE(eventually([&] { return !one.backplane->stats().publisher_connected; }));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(one.registry.try_publish("room", MessageKind::text, as_bytes("x")).error,
              BackplaneErrc::dropped);
  }
  EXPECT_EQ(dropped.load(), 5U);
  EXPECT_GE(one.backplane->stats().lost, 5U);
}

TEST_F(RedisEpollThreads, NodesStartedBeforeRedisConnectWhenItComes) {
  redis_.kill();
  Node& one = add_node(options());
  Node& two = add_node(options());
  auto far = std::make_shared<RecordingSubscriber>();
  two.registry.join("room", far);
  start_loop();
  std::this_thread::sleep_for(200ms);  // several failed attempts, bounded backoff
  EXPECT_FALSE(one.backplane->stats().publisher_connected);
  ASSERT_TRUE(redis_.start());
  ASSERT_TRUE(
      eventually([&] { return all_subscribed() && one.backplane->stats().publisher_connected; }));
  one.registry.publish("room", MessageKind::text, as_bytes("a0"));
  ASSERT_TRUE(eventually([&] { return far->count() == 1; }));
}

TEST_F(RedisEpollThreads, ANodeThatGoesAwayDoesNotDisturbTheOthers) {
  Node& one = add_node(options());
  Node& two = add_node(options());
  add_node(options());
  auto far = std::make_shared<RecordingSubscriber>();
  auto gone = std::make_shared<RecordingSubscriber>();
  two.registry.join("room", far);
  nodes_[2]->registry.join("room", gone);
  start_loop();
  ASSERT_TRUE(eventually([&] { return all_subscribed(); }));
  one.registry.publish("room", MessageKind::text, as_bytes("a0"));
  ASSERT_TRUE(eventually([&] { return far->count() == 1 && gone->count() == 1; }));
  // Destroyed on the loop thread, as the contract asks.
  std::atomic<bool> destroyed{false};
  loop_.post([&] {
    nodes_[2]->backplane.reset();
    destroyed = true;
  });
  ASSERT_TRUE(eventually([&] { return destroyed.load(); }));
  one.registry.publish("room", MessageKind::text, as_bytes("a1"));
  ASSERT_TRUE(eventually([&] { return far->count() == 2; }));
  EXPECT_EQ(gone->count(), 1U);
}

TEST_F(RedisEpollThreads, InvalidTextInjectedIntoRedisIsNotForwarded) {
  Node& one = add_node(options());
  auto member = std::make_shared<RecordingSubscriber>();
  one.registry.join("room", member);
  start_loop();
  ASSERT_TRUE(eventually([&] { return all_subscribed(); }));
  // Someone else publishes straight to Redis: a text message that is not
  // UTF-8, a body without a kind byte, then a good one.
  const int fd = test::loopback_socket(redis_.port(), false);
  ASSERT_GE(fd, 0);
  const std::string commands =
      "*3\r\n$7\r\nPUBLISH\r\n$12\r\nws-test:room\r\n$2\r\nt\xff\r\n"
      "*3\r\n$7\r\nPUBLISH\r\n$12\r\nws-test:room\r\n$2\r\nxy\r\n"
      "*3\r\n$7\r\nPUBLISH\r\n$12\r\nws-test:room\r\n$3\r\ntok\r\n";
  ASSERT_EQ(::send(fd, commands.data(), commands.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(commands.size()));
  ASSERT_TRUE(eventually([&] { return member->count() == 1; }));
  ::close(fd);
  EXPECT_EQ(member->texts(), std::vector<std::string>{"ok"});
}

TEST(RedisUrl, ParsesHostAndPort) {
  Result<RedisEndpoint> plain = parse_redis_url("redis://127.0.0.1:7000");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 7000);
  Result<RedisEndpoint> no_port = parse_redis_url("redis://cache.internal");
  ASSERT_TRUE(no_port);
  EXPECT_EQ(no_port->port, 6379);
  Result<RedisEndpoint> v6 = parse_redis_url("redis://[::1]:6400/");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 6400);
}

TEST(RedisUrl, RejectsWhatItCannotUse) {
  for (const char* bad : {"http://h:1", "redis://", "redis://h:", "redis://h:0", "redis://h:70000",
                          "redis://h:1x", "redis://user@h:1", "redis://[::1"}) {
    EXPECT_FALSE(parse_redis_url(bad)) << bad;
  }
}

}  // namespace
}  // namespace ws::redis
