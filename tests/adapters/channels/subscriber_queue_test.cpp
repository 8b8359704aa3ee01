// The bounded per-subscriber queue and the slow-subscriber policy.
#include <gtest/gtest.h>

#include <thread>

#include "ws/channels/subscriber_queue.hpp"

namespace ws::channels {
namespace {

std::shared_ptr<const PreparedMessage> message_of(std::size_t size) {
  return PreparedMessage::make(MessageKind::binary, std::vector<std::byte>(size));
}

TEST(SubscriberQueue, WakesTheOwnerOnlyForTheFirstMessage) {
  SubscriberQueue queue;
  EXPECT_EQ(queue.push(message_of(10)), SubscriberQueue::PushResult::queued_wake);
  EXPECT_EQ(queue.push(message_of(10)), SubscriberQueue::PushResult::queued);
  std::vector<std::shared_ptr<const PreparedMessage>> taken;
  queue.take_all(taken);
  EXPECT_EQ(taken.size(), 2U);
  EXPECT_EQ(queue.queued_bytes(), 0U);
  EXPECT_EQ(queue.push(message_of(10)), SubscriberQueue::PushResult::queued_wake);
}

TEST(SubscriberQueue, ClosePolicyFiresAtTheHighWaterMarkWith1013ByDefault) {
  BackpressureLimits limits;
  limits.high_water = 1000;
  SubscriberQueue queue(limits);
  EXPECT_NE(queue.push(message_of(600)), SubscriberQueue::PushResult::over_limit);
  EXPECT_EQ(queue.push(message_of(600)), SubscriberQueue::PushResult::over_limit);
  EXPECT_TRUE(queue.over_limit());
  EXPECT_EQ(queue.close_code(), CloseCode::try_again_later);
  EXPECT_EQ(queue.push(message_of(1)), SubscriberQueue::PushResult::closed);
}

TEST(SubscriberQueue, OwnersUnwrittenOutputCountsTowardsTheMark) {
  BackpressureLimits limits;
  limits.high_water = 1000;
  limits.policy = SlowSubscriberPolicy::close_policy_violation;
  SubscriberQueue queue(limits);
  queue.set_owner_pending(950);
  EXPECT_EQ(queue.push(message_of(100)), SubscriberQueue::PushResult::over_limit);
  EXPECT_EQ(queue.close_code(), CloseCode::policy_violation);
}

TEST(SubscriberQueue, DropPolicyCountsAndKeepsTheQueueBounded) {
  BackpressureLimits limits;
  limits.high_water = 1000;
  limits.policy = SlowSubscriberPolicy::drop_messages;
  SubscriberQueue queue(limits);
  for (int i = 0; i < 100; ++i) (void)queue.push(message_of(100));
  EXPECT_LE(queue.queued_bytes(), 1000U);
  EXPECT_EQ(queue.dropped_count(), 100U - queue.queued_bytes() / message_of(100)->frame().size());
  EXPECT_FALSE(queue.over_limit());
}

TEST(SubscriberQueue, OneMessageLargerThanTheMarkStillGoesThroughAnEmptyQueue) {
  BackpressureLimits limits;
  limits.high_water = 100;
  SubscriberQueue queue(limits);
  EXPECT_EQ(queue.push(message_of(5000)), SubscriberQueue::PushResult::queued_wake);
}

TEST(SubscriberQueueThreads, ManyPublishersOneOwnerLoseNothingUnderTheMark) {
  SubscriberQueue queue;
  std::atomic<bool> done{false};
  std::size_t received = 0;
  std::thread owner([&] {
    std::vector<std::shared_ptr<const PreparedMessage>> taken;
    while (!done.load() || queue.queued_bytes() > 0) {
      queue.take_all(taken);
      received += taken.size();
    }
  });
  std::vector<std::thread> publishers;
  for (int p = 0; p < 3; ++p) {
    publishers.emplace_back([&queue] {
      for (int i = 0; i < 2000; ++i) (void)queue.push(message_of(8));
    });
  }
  for (auto& t : publishers) t.join();
  done = true;
  owner.join();
  EXPECT_EQ(received, 6000U);
}

}  // namespace
}  // namespace ws::channels
