// The Redis backplane while its connections to Redis are up but Redis reads
// nothing (stopped with SIGSTOP), against a real redis-server: what a server
// holds for Redis stays within max_in_flight_bytes / max_in_flight_messages,
// publishes past the bound fail with BackplaneErrc::buffer_full and are
// counted, a Redis that answers nothing for stall_timeout is treated as lost,
// and service resumes after SIGCONT. On the epoll loop, on a backplane
// thread and on Asio.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis_test_support.hpp"
#include "ws/channels/registry.hpp"
#include "ws/posix/epoll_loop.hpp"
#include "ws/redis/backplane.hpp"
#if WS_REDIS_HAVE_ASIO
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include "ws/redis/asio_backplane.hpp"
#endif

namespace ws::redis {
namespace {

using channels::BackplaneErrc;
using channels::PublishResult;
using channels::PublishStatus;
using test::eventually;
using test::RecordingSubscriber;
using test::RedisServer;
using namespace std::chrono_literals;

enum class Mode { epoll, own_thread, asio };

/// Each test runs one scenario with the backplanes in one mode (mode_).
class RedisStalledThreads : public ::testing::Test {
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
    (void)redis_.resume();  // if a failed assertion left it stopped
    stop_loop();
    backplanes_.clear();  // no loop runs: allowed in every mode
  }

  RedisBackplaneOptions options() const {
    RedisBackplaneOptions options;
    options.endpoint.port = redis_.port();
    options.channel_prefix = "ws-test:";
    options.reconnect_min = 10ms;
    options.reconnect_max = 100ms;
    return options;
  }

  RedisBackplane& add_backplane(channels::Registry& registry, RedisBackplaneOptions options) {
    switch (mode_) {
      case Mode::epoll:
        backplanes_.push_back(RedisBackplane::on_epoll(epoll_, registry, std::move(options)));
        break;
      case Mode::own_thread:
        backplanes_.push_back(RedisBackplane::on_own_thread(registry, std::move(options)));
        break;
      case Mode::asio:
#if WS_REDIS_HAVE_ASIO
        backplanes_.push_back(on_asio(io_, registry, std::move(options)));
#endif
        break;
    }
    return *backplanes_.back();
  }

  void start_loop() {
    if (mode_ == Mode::epoll) runner_ = std::thread([this] { (void)epoll_.run(); });
#if WS_REDIS_HAVE_ASIO
    if (mode_ == Mode::asio) runner_ = std::thread([this] { io_.run(); });
#endif
  }

  void stop_loop() {
    epoll_.stop();
#if WS_REDIS_HAVE_ASIO
    work_.reset();
    io_.stop();
#endif
    if (runner_.joinable()) runner_.join();
  }

  static bool ready(const RedisBackplane& backplane, std::size_t channels) {
    const RedisBackplaneStats stats = backplane.stats();
    return stats.publisher_connected && stats.subscriber_connected &&
           stats.subscribed_channels == channels;
  }

  // The scenarios.
  void what_is_held_stays_bounded_and_the_rest_fails();
  void a_redis_silent_for_stall_timeout_is_lost();

  Mode mode_ = Mode::epoll;
  RedisServer redis_;
  posix::EpollLoop epoll_;
#if WS_REDIS_HAVE_ASIO
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
#endif
  std::thread runner_;
  // Registries outlive their backplanes (declared first, destroyed last).
  channels::Registry one_;
  channels::Registry two_;
  std::vector<std::unique_ptr<RedisBackplane>> backplanes_;
};

/// A payload of exactly `size` bytes that starts with `tag` and a space.
std::string payload(const std::string& tag, std::size_t size) {
  std::string text = tag + " ";
  text.resize(std::max(size, text.size()), '.');
  return text;
}

std::string tag_of(const std::string& text) { return text.substr(0, text.find(' ')); }

void RedisStalledThreads::what_is_held_stays_bounded_and_the_rest_fails() {
  constexpr std::size_t byte_bound = 64 * 1024;
  constexpr std::size_t message_bound = 100;
  // Node one: buffer policy, the byte bound binds (1 KiB payloads). Node
  // two: drop policy, the message bound binds (small payloads), and what it
  // refuses is also signalled through on_lost.
  RedisBackplaneOptions by_bytes = options();
  by_bytes.outage = OutagePolicy::buffer;
  by_bytes.max_in_flight_bytes = byte_bound;
  by_bytes.max_in_flight_messages = 100'000;
  std::atomic<std::size_t> two_lost{0};
  RedisBackplaneOptions by_count = options();
  by_count.outage = OutagePolicy::drop;
  by_count.max_in_flight_messages = message_bound;
  by_count.max_in_flight_bytes = 1024 * 1024;
  by_count.on_lost = [&](LostReason reason, std::size_t count) {
    if (reason == LostReason::dropped) two_lost += count;
  };
  auto member = std::make_shared<RecordingSubscriber>();
  one_.join("room", member);
  RedisBackplane& one = add_backplane(one_, by_bytes);
  RedisBackplane& two = add_backplane(two_, by_count);
  start_loop();
  ASSERT_TRUE(eventually([&] { return ready(one, 1) && ready(two, 0); }, 5s));

  ASSERT_TRUE(redis_.pause());
  // Node one: 2,000 publishes of 1 KiB (2 MB) while Redis reads nothing.
  std::vector<std::string> accepted_one;
  std::size_t refused_one = 0;
  std::size_t most_bytes_held = 0;
  std::size_t most_written_unanswered = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string text = payload("a" + std::to_string(i), 1024);
    const PublishResult result = one_.try_publish("room", MessageKind::text, as_bytes(text));
    if (result.ok()) {
      EXPECT_EQ(result.status, PublishStatus::sent);
      accepted_one.push_back(tag_of(text));
    } else {
      EXPECT_EQ(result.error, BackplaneErrc::buffer_full) << i;
      ++refused_one;
    }
    const RedisBackplaneStats stats = one.stats();
    most_bytes_held = std::max(most_bytes_held, stats.buffered_bytes + stats.unconfirmed_bytes);
    // From the counters that existed before the bound: written, never answered.
    most_written_unanswered = std::max(most_written_unanswered,
                                       static_cast<std::size_t>(stats.published - stats.confirmed));
  }
  // Node two: 1,000 small publishes.
  std::vector<std::string> accepted_two;
  std::size_t refused_two = 0;
  std::size_t most_messages_held = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string text = "b" + std::to_string(i);
    const PublishResult result = two_.try_publish("room", MessageKind::text, as_bytes(text));
    if (result.ok()) {
      accepted_two.push_back(text);
    } else {
      EXPECT_EQ(result.error, BackplaneErrc::buffer_full) << i;
      ++refused_two;
    }
    const RedisBackplaneStats stats = two.stats();
    most_messages_held = std::max(most_messages_held, stats.buffered + stats.unconfirmed);
  }
  // Every accepted one is written (handed to hiredis) soon.
  ASSERT_TRUE(eventually([&] { return one.stats().buffered == 0 && two.stats().buffered == 0; }));

  // Exactly the first ones that fit were accepted; what is held never went
  // past the bound; everything refused was said so, and counted.
  EXPECT_EQ(accepted_one.size(), byte_bound / 1024);
  EXPECT_EQ(refused_one, 2000 - accepted_one.size());
  EXPECT_LE(most_bytes_held, byte_bound);
  EXPECT_LE(most_written_unanswered, byte_bound / 1024);
  EXPECT_EQ(accepted_two.size(), message_bound);
  EXPECT_EQ(refused_two, 1000 - message_bound);
  EXPECT_LE(most_messages_held, message_bound);
  EXPECT_EQ(two_lost.load(), refused_two);
  const RedisBackplaneStats stalled_one = one.stats();
  const RedisBackplaneStats stalled_two = two.stats();
  EXPECT_EQ(stalled_one.rejected, refused_one);
  EXPECT_EQ(stalled_one.failed, refused_one);
  EXPECT_EQ(stalled_one.unconfirmed, accepted_one.size());  // all written, none answered
  EXPECT_EQ(stalled_one.unconfirmed_bytes, accepted_one.size() * 1024);
  EXPECT_EQ(stalled_one.buffered, 0U);
  EXPECT_EQ(stalled_two.rejected, refused_two);
  EXPECT_EQ(stalled_two.unconfirmed, message_bound);
  EXPECT_TRUE(stalled_one.publisher_connected);  // stalled, not lost (stall_timeout is 5 s)

  // Redis goes on: everything accepted is delivered, once and in order, and
  // the bound frees up.
  ASSERT_TRUE(redis_.resume());
  ASSERT_TRUE(
      eventually([&] { return member->count() == accepted_one.size() + accepted_two.size(); }, 5s));
  std::vector<std::string> heard_one;
  std::vector<std::string> heard_two;
  for (const std::string& text : member->texts()) {
    (text.front() == 'a' ? heard_one : heard_two).push_back(tag_of(text));
  }
  EXPECT_EQ(heard_one, accepted_one);
  EXPECT_EQ(heard_two, accepted_two);
  ASSERT_TRUE(eventually([&] { return one.stats().unconfirmed == 0; }, 5s));
  EXPECT_EQ(one.stats().unconfirmed_bytes, 0U);
  EXPECT_EQ(one_.try_publish("room", MessageKind::text, as_bytes("after")).status,
            PublishStatus::sent);
  EXPECT_EQ(two_.try_publish("room", MessageKind::text, as_bytes("bafter")).status,
            PublishStatus::sent);
  ASSERT_TRUE(eventually(
      [&] { return member->count() == accepted_one.size() + accepted_two.size() + 2; }, 5s));
  EXPECT_EQ(one.stats().reconnects, 0U);
  EXPECT_EQ(one.stats().lost, 0U);
}

void RedisStalledThreads::a_redis_silent_for_stall_timeout_is_lost() {
  std::atomic<std::size_t> unconfirmed{0};
  std::atomic<int> downs{0};
  RedisBackplaneOptions watched = options();
  watched.stall_timeout = 200ms;
  watched.on_lost = [&](LostReason reason, std::size_t count) {
    if (reason == LostReason::unconfirmed) unconfirmed += count;
  };
  watched.on_connection = [&](bool connected) {
    if (!connected) ++downs;
  };
  auto member = std::make_shared<RecordingSubscriber>();
  one_.join("room", member);
  RedisBackplane& one = add_backplane(one_, watched);
  start_loop();
  ASSERT_TRUE(eventually([&] { return ready(one, 1); }, 5s));
  ASSERT_TRUE(one_.try_publish("room", MessageKind::text, as_bytes("before")).ok());
  ASSERT_TRUE(eventually([&] { return member->count() == 1; }, 5s));
  ASSERT_TRUE(eventually([&] { return one.stats().unconfirmed == 0; }, 5s));

  ASSERT_TRUE(redis_.pause());
  const auto stalled_at = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(one_.try_publish("room", MessageKind::text, as_bytes("s" + std::to_string(i))).status,
              PublishStatus::sent);
  }
  // Not before stall_timeout, and soon after it: the ten are reported as
  // unconfirmed (Redis may still execute them when it goes on).
  ASSERT_TRUE(eventually([&] { return unconfirmed.load() == 10; }, 3s));
  EXPECT_GE(std::chrono::steady_clock::now() - stalled_at, 200ms);
  RedisBackplaneStats stats = one.stats();
  EXPECT_EQ(stats.stalls, 1U);
  EXPECT_EQ(stats.unconfirmed, 0U);
  EXPECT_EQ(stats.unconfirmed_bytes, 0U);
  EXPECT_GE(stats.lost, 10U);
  EXPECT_GE(downs.load(), 1);
  // It reconnects with the backoff (the kernel accepts for the stopped
  // Redis); with nothing to answer, no further stall is declared.
  ASSERT_TRUE(eventually([&] { return one.stats().reconnects >= 1; }, 3s));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(one.stats().stalls, 1U);

  ASSERT_TRUE(redis_.resume());
  ASSERT_TRUE(eventually([&] { return one.stats().publisher_connected; }, 5s));
  EXPECT_EQ(one_.try_publish("room", MessageKind::text, as_bytes("after")).status,
            PublishStatus::sent);
  ASSERT_TRUE(eventually(
      [&] {
        const std::vector<std::string> texts = member->texts();
        return std::count(texts.begin(), texts.end(), "after") == 1;
      },
      5s));
  ASSERT_TRUE(eventually([&] { return one.stats().unconfirmed == 0; }, 5s));
  EXPECT_EQ(one.stats().stalls, 1U);
}

TEST_F(RedisStalledThreads, OnEpollWhatIsHeldStaysBoundedAndTheRestFails) {
  mode_ = Mode::epoll;
  what_is_held_stays_bounded_and_the_rest_fails();
}

TEST_F(RedisStalledThreads, OnEpollARedisSilentForStallTimeoutIsLost) {
  mode_ = Mode::epoll;
  a_redis_silent_for_stall_timeout_is_lost();
}

TEST_F(RedisStalledThreads, OnOwnThreadWhatIsHeldStaysBoundedAndTheRestFails) {
  mode_ = Mode::own_thread;
  what_is_held_stays_bounded_and_the_rest_fails();
}

TEST_F(RedisStalledThreads, OnOwnThreadARedisSilentForStallTimeoutIsLost) {
  mode_ = Mode::own_thread;
  a_redis_silent_for_stall_timeout_is_lost();
}

#if WS_REDIS_HAVE_ASIO
TEST_F(RedisStalledThreads, OnAsioWhatIsHeldStaysBoundedAndTheRestFails) {
  mode_ = Mode::asio;
  what_is_held_stays_bounded_and_the_rest_fails();
}

TEST_F(RedisStalledThreads, OnAsioARedisSilentForStallTimeoutIsLost) {
  mode_ = Mode::asio;
  a_redis_silent_for_stall_timeout_is_lost();
}
#endif

}  // namespace
}  // namespace ws::redis
