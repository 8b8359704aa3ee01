// The Redis backplane in streams mode (a resumable Registry, docs/resume.md)
// against a real redis-server: Redis assigns the positions, so a member that
// leaves one node resumes on another with every message after its position,
// once and in order; and a node that loses its subscription tells its
// resumable members to resume rather than leave them with a hole.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "redis_test_support.hpp"
#include "ws/channels/registry.hpp"
#include "ws/channels/resume.hpp"
#include "ws/redis/backplane.hpp"

namespace ws::redis {
namespace {

using test::eventually;
using test::RedisServer;
using namespace std::chrono_literals;

#define WS_REQUIRE_REDIS_SERVER()                                                        \
  if (!RedisServer::binary()) {                                                          \
    GTEST_FAIL() << "redis-server is not installed (Debian package redis-server, which " \
                    "scripts/test installs): "                                           \
                    "the Redis backplane tests need it";                                 \
  }

class Envelopes final : public channels::Subscriber {
 public:
  bool deliver(const std::shared_ptr<const PreparedMessage>& message) override {
    std::lock_guard lock(mutex_);
    texts_.emplace_back(as_text(message->payload()));
    return true;
  }
  void fell_behind() override { fell_behind_.fetch_add(1); }
  std::vector<std::string> texts() const {
    std::lock_guard lock(mutex_);
    return texts_;
  }
  bool live() const {
    for (const std::string& text : texts()) {
      if (text.find("\"live\":true") != std::string::npos) return true;
    }
    return false;
  }
  int fell_behind_count() const { return fell_behind_.load(); }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> texts_;
  std::atomic<int> fell_behind_{0};
};

std::optional<std::string> field(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":\"";
  const std::size_t at = json.find(needle);
  if (at == std::string::npos) return std::nullopt;
  const std::size_t start = at + needle.size();
  return json.substr(start, json.find('"', start) - start);
}

// (pos, data) of the message envelopes.
std::vector<std::pair<std::string, std::string>> messages(const std::vector<std::string>& texts) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& text : texts) {
    if (auto data = field(text, "data")) out.emplace_back(*field(text, "pos"), *data);
  }
  return out;
}

// Runs redis-cli against the test server (the stream key is the channel's
// name with test_options' prefix); its output, or nullopt when it failed.
std::optional<std::string> redis_cli(std::uint16_t port, const std::string& arguments) {
  const std::string command =
      "redis-cli -p " + std::to_string(port) + " " + arguments + " 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buffer[4096];
  while (const std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe))
    out.append(buffer, got);
  return ::pclose(pipe) == 0 ? std::optional<std::string>(out) : std::nullopt;
}

RedisBackplaneOptions test_options(std::uint16_t port) {
  RedisBackplaneOptions options;
  options.endpoint.port = port;
  options.channel_prefix = "ws-streams-test:";
  options.reconnect_min = 10ms;
  options.reconnect_max = 100ms;
  return options;
}

TEST(RedisStreamsThreads, AMemberResumesOnAnotherNodeFromRedisPositions) {
  WS_REQUIRE_REDIS_SERVER();
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  channels::Registry one(channels::RegistryOptions{true, {}});
  channels::Registry two(channels::RegistryOptions{true, {}});
  auto one_backplane = RedisBackplane::on_own_thread(one, test_options(redis.port()));
  auto two_backplane = RedisBackplane::on_own_thread(two, test_options(redis.port()));
  EXPECT_TRUE(one_backplane->assigns_positions());
  auto watcher = std::make_shared<Envelopes>();
  one.join_resumable("room", watcher, std::nullopt);
  ASSERT_TRUE(eventually([&] { return watcher->live(); }));
  ASSERT_TRUE(eventually([&] { return one_backplane->stats().publisher_connected; }));
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(one.try_publish("room", MessageKind::text, as_bytes("m" + std::to_string(i))).ok());
  }
  ASSERT_TRUE(eventually([&] { return messages(watcher->texts()).size() == 50; }));
  const auto seen = messages(watcher->texts());
  // Node two never had a member: it fetches from Redis after subscribing.
  auto mover = std::make_shared<Envelopes>();
  const auto result = two.join_resumable("room", mover, channels::parse_position(seen[9].first));
  EXPECT_TRUE(result.joined);
  ASSERT_TRUE(eventually([&] { return mover->live(); }));
  for (int i = 50; i < 60; ++i) {
    ASSERT_TRUE(one.try_publish("room", MessageKind::text, as_bytes("m" + std::to_string(i))).ok());
  }
  ASSERT_TRUE(eventually([&] { return messages(mover->texts()).size() == 50; }));
  ASSERT_TRUE(eventually([&] { return messages(watcher->texts()).size() == 60; }));
  const auto all = messages(watcher->texts());
  // The same positions on both nodes, m10..m59, once each.
  EXPECT_EQ(messages(mover->texts()),
            (std::vector<std::pair<std::string, std::string>>(all.begin() + 10, all.end())));
  EXPECT_EQ(mover->texts().front().find("gap"), std::string::npos);
}

TEST(RedisStreamsThreads, LosingTheSubscriptionTellsResumableMembersToResume) {
  WS_REQUIRE_REDIS_SERVER();
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  channels::Registry registry(channels::RegistryOptions{true, {}});
  auto backplane = RedisBackplane::on_own_thread(registry, test_options(redis.port()));
  auto member = std::make_shared<Envelopes>();
  registry.join_resumable("room", member, std::nullopt);
  ASSERT_TRUE(eventually([&] { return member->live(); }));
  redis.kill();
  EXPECT_TRUE(eventually([&] { return member->fell_behind_count() == 1; }));
}

TEST(RedisStreamsThreads, AJoinThatRedisCannotAnswerTellsTheMemberToResume) {
  WS_REQUIRE_REDIS_SERVER();
  // No Redis at all: the join does not block its caller, nothing is guessed
  // without Redis's answer (no replay, no live marker), and the member is
  // told to resume later (a Session closes with 1013).
  channels::Registry registry(channels::RegistryOptions{true, {}});
  RedisBackplaneOptions options = test_options(test::free_loopback_port());
  auto backplane = RedisBackplane::on_own_thread(registry, options);
  auto member = std::make_shared<Envelopes>();
  EXPECT_TRUE(registry.join_resumable("room", member, channels::Position{1, 1}).joined);
  EXPECT_TRUE(eventually([&] { return member->fell_behind_count() == 1; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(member->texts().empty());
  EXPECT_EQ(member->fell_behind_count(), 1);
}

// One fetch carries at most COUNT entries (2 * max_messages + 1000). Before
// the fix it returned the oldest COUNT after the position with no gap: the
// member went live after them and silently never got the rest. Now it gets
// a too_old gap and the newest COUNT, up to the last.
TEST(RedisStreamsThreads, AFetchTooLongForOneAnswerIsAGapAndTheNewest) {
  WS_REQUIRE_REDIS_SERVER();
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  // max_messages 1: COUNT 1002. Entries added behind ws's back, untrimmed.
  channels::Registry registry(channels::RegistryOptions{true, {1, 1024 * 1024}});
  auto backplane = RedisBackplane::on_own_thread(registry, test_options(redis.port()));
  ASSERT_TRUE(redis_cli(redis.port(),
                        "EVAL \"for i = 1, 1100 do redis.call('XADD', KEYS[1], '*', 'k', 't', "
                        "'d', 'm' .. i) end\" 1 ws-streams-test:big"));
  const std::optional<std::string> first =
      redis_cli(redis.port(), "XRANGE ws-streams-test:big - + COUNT 1");
  ASSERT_TRUE(first);
  const std::string id = first->substr(0, first->find('\n'));
  ASSERT_TRUE(channels::parse_position(id)) << *first;
  auto member = std::make_shared<Envelopes>();
  registry.join_resumable("big", member, channels::parse_position(id));
  ASSERT_TRUE(eventually([&] { return member->live(); }));
  const std::vector<std::string> texts = member->texts();
  ASSERT_FALSE(texts.empty());
  EXPECT_NE(texts.front().find("\"too_old\""), std::string::npos) << texts.front();
  const auto got = messages(texts);
  ASSERT_EQ(got.size(), 1002U);
  EXPECT_EQ(got.front().second, "m99");
  EXPECT_EQ(got.back().second, "m1100");
}

// Redis flushed (or restarted without persistence): the new stream's IDs
// are larger than the client's position and nothing was trimmed, so before
// the fix its entries were replayed as the continuation, silently losing
// whatever the old stream had after the position. Now: an other_epoch gap.
TEST(RedisStreamsThreads, AFlushedStreamIsAnotherEpochNotAContinuation) {
  WS_REQUIRE_REDIS_SERVER();
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  channels::Registry registry(channels::RegistryOptions{true, {}});
  auto backplane = RedisBackplane::on_own_thread(registry, test_options(redis.port()));
  auto watcher = std::make_shared<Envelopes>();
  registry.join_resumable("room", watcher, std::nullopt);
  ASSERT_TRUE(eventually([&] { return watcher->live(); }));
  ASSERT_TRUE(eventually([&] { return backplane->stats().publisher_connected; }));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        registry.try_publish("room", MessageKind::text, as_bytes("m" + std::to_string(i))).ok());
  }
  ASSERT_TRUE(eventually([&] { return messages(watcher->texts()).size() == 3; }));
  const std::string since = messages(watcher->texts())[0].first;  // m1 and m2 follow it
  ASSERT_TRUE(redis_cli(redis.port(), "FLUSHALL"));
  for (int i = 3; i < 5; ++i) {
    ASSERT_TRUE(
        registry.try_publish("room", MessageKind::text, as_bytes("m" + std::to_string(i))).ok());
  }
  ASSERT_TRUE(eventually([&] { return messages(watcher->texts()).size() == 5; }));
  auto resumer = std::make_shared<Envelopes>();
  registry.join_resumable("room", resumer, channels::parse_position(since));
  ASSERT_TRUE(eventually([&] { return resumer->live(); }));
  const std::vector<std::string> texts = resumer->texts();
  EXPECT_NE(texts.front().find("\"other_epoch\""), std::string::npos) << texts.front();
  const auto got = messages(texts);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].second, "m3");
  EXPECT_EQ(got[1].second, "m4");
  // A stream that is gone altogether (flushed, expired): a gap too.
  ASSERT_TRUE(redis_cli(redis.port(), "FLUSHALL"));
  auto late = std::make_shared<Envelopes>();
  registry.join_resumable("room", late, channels::parse_position(got[1].first));
  ASSERT_TRUE(eventually([&] { return late->live(); }));
  EXPECT_NE(late->texts().front().find("\"other_epoch\""), std::string::npos);
}

// Before the fix stream keys never expired: every channel name a client
// invented left a stream in Redis forever. Every publish now renews the
// key's time to live (RedisBackplaneOptions::stream_retention, 24 h by
// default); a resume after expiry gets an other_epoch gap.
TEST(RedisStreamsThreads, StreamKeysExpireAfterTheRetentionAndAResumeThenGetsAGap) {
  WS_REQUIRE_REDIS_SERVER();
  EXPECT_EQ(RedisBackplaneOptions{}.stream_retention, std::chrono::hours(24));
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  channels::Registry registry(channels::RegistryOptions{true, {}});
  RedisBackplaneOptions options = test_options(redis.port());
  options.stream_retention = 400ms;
  auto backplane = RedisBackplane::on_own_thread(registry, options);
  auto watcher = std::make_shared<Envelopes>();
  registry.join_resumable("room", watcher, std::nullopt);
  ASSERT_TRUE(eventually([&] { return watcher->live(); }));
  ASSERT_TRUE(eventually([&] { return backplane->stats().publisher_connected; }));
  ASSERT_TRUE(registry.try_publish("room", MessageKind::text, as_bytes("m0")).ok());
  ASSERT_TRUE(eventually([&] { return messages(watcher->texts()).size() == 1; }));
  const std::optional<std::string> ttl = redis_cli(redis.port(), "PTTL ws-streams-test:room");
  ASSERT_TRUE(ttl);
  EXPECT_GT(std::stoll(*ttl), 0) << *ttl;  // -1: no expiry
  EXPECT_LE(std::stoll(*ttl), 400) << *ttl;
  ASSERT_TRUE(
      eventually([&] { return redis_cli(redis.port(), "EXISTS ws-streams-test:room") == "0\n"; }));
  auto resumer = std::make_shared<Envelopes>();
  registry.join_resumable("room", resumer,
                          channels::parse_position(messages(watcher->texts())[0].first));
  ASSERT_TRUE(eventually([&] { return resumer->live(); }));
  EXPECT_NE(resumer->texts().front().find("\"other_epoch\""), std::string::npos);
}

}  // namespace
}  // namespace ws::redis
