// Channels: encode once, deliver to members only, in each publisher's order.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "adapters/channels/recording_subscriber.hpp"
#include "ws/channels/registry.hpp"

namespace ws::channels {
namespace {

using test::RecordingSubscriber;

TEST(Registry, PublishReachesOnlyTheMembersOfThatChannel) {
  Registry registry;
  auto meeting_a = std::make_shared<RecordingSubscriber>();
  auto meeting_b = std::make_shared<RecordingSubscriber>();
  auto hub = std::make_shared<RecordingSubscriber>();
  registry.join("meeting", meeting_a);
  registry.join("meeting", meeting_b);
  registry.join("hub", hub);
  EXPECT_EQ(registry.publish("meeting", MessageKind::text, as_bytes("slide 2")), 2U);
  EXPECT_EQ(registry.publish("hub", MessageKind::text, as_bytes("reading 17")), 1U);
  EXPECT_EQ(meeting_a->texts(), std::vector<std::string>{"slide 2"});
  EXPECT_EQ(meeting_b->texts(), std::vector<std::string>{"slide 2"});
  EXPECT_EQ(hub->texts(), std::vector<std::string>{"reading 17"});
}

TEST(Registry, AMessageIsFramedOnceForAllMembers) {
  Registry registry;
  auto a = std::make_shared<RecordingSubscriber>();
  auto b = std::make_shared<RecordingSubscriber>();
  registry.join("c", a);
  registry.join("c", b);
  registry.publish("c", MessageKind::binary, as_bytes("x"));
  ASSERT_EQ(a->received.size(), 1U);
  EXPECT_EQ(a->received[0].get(), b->received[0].get());
}

TEST(Registry, AConnectionMayBelongToSeveralChannelsAndLeaveThem) {
  Registry registry;
  auto s = std::make_shared<RecordingSubscriber>();
  EXPECT_TRUE(registry.join("one", s));
  EXPECT_FALSE(registry.join("one", s));
  EXPECT_TRUE(registry.join("two", s));
  registry.publish("one", MessageKind::text, as_bytes("1"));
  registry.publish("two", MessageKind::text, as_bytes("2"));
  EXPECT_TRUE(registry.leave("one", s.get()));
  EXPECT_FALSE(registry.leave("one", s.get()));
  registry.publish("one", MessageKind::text, as_bytes("lost"));
  registry.leave_all(s.get());
  registry.publish("two", MessageKind::text, as_bytes("lost too"));
  EXPECT_EQ(s->texts(), (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(registry.channel_names().empty());
}

TEST(Registry, ADestroyedSubscriberIsSkipped) {
  Registry registry;
  auto kept = std::make_shared<RecordingSubscriber>();
  registry.join("c", kept);
  {
    auto gone = std::make_shared<RecordingSubscriber>();
    registry.join("c", gone);
  }
  EXPECT_EQ(registry.publish("c", MessageKind::text, as_bytes("x")), 1U);
}

TEST(RegistryThreads, EachPublishersOrderIsKeptWhileOthersPublishAndJoin) {
  Registry registry;
  constexpr int publishers = 4;
  constexpr int per_publisher = 500;
  std::vector<std::shared_ptr<RecordingSubscriber>> members;
  for (int i = 0; i < 8; ++i) {
    members.push_back(std::make_shared<RecordingSubscriber>());
    registry.join("room", members.back());
  }
  auto other = std::make_shared<RecordingSubscriber>();
  registry.join("other", other);
  std::vector<std::thread> threads;
  for (int p = 0; p < publishers; ++p) {
    threads.emplace_back([&registry, p] {
      for (int i = 0; i < per_publisher; ++i) {
        const std::string text = std::to_string(p) + ":" + std::to_string(i);
        registry.publish("room", MessageKind::text, as_bytes(text));
      }
    });
  }
  threads.emplace_back([&registry] {
    for (int i = 0; i < 200; ++i) {
      auto passer_by = std::make_shared<RecordingSubscriber>();
      registry.join("room", passer_by);
      registry.leave_all(passer_by.get());
    }
  });
  for (auto& t : threads) t.join();
  for (const auto& member : members) {
    const auto texts = member->texts();
    ASSERT_EQ(texts.size(), static_cast<std::size_t>(publishers * per_publisher));
    std::vector<int> next(publishers, 0);
    for (const std::string& text : texts) {
      const int p = text[0] - '0';
      EXPECT_EQ(text.substr(2), std::to_string(next[static_cast<std::size_t>(p)]));
      ++next[static_cast<std::size_t>(p)];
    }
  }
  EXPECT_TRUE(other->texts().empty());
}

}  // namespace
}  // namespace ws::channels
