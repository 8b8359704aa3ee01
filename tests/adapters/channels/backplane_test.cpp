// A Registry with a backplane: publishes leave through it, members hear only
// what comes back (deliver_local), the backplane learns of first joins and
// last leaves, and failures reach the publisher. Several Registries on one
// in-memory fake broker stand for several servers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/channels/recording_subscriber.hpp"
#include "ws/channels/backplane.hpp"
#include "ws/channels/registry.hpp"

namespace ws::channels {
namespace {

using ::testing::_;
using ::testing::InSequence;
using ::testing::Return;

using test::RecordingSubscriber;

class MockBackplane : public Backplane {
 public:
  MOCK_METHOD(PublishResult, publish, (std::string_view, MessageKind, ByteView), (override));
  MOCK_METHOD(void, subscribe, (std::string_view), (override));
  MOCK_METHOD(void, unsubscribe, (std::string_view), (override));
};

PublishResult sent() {
  PublishResult result;
  result.status = PublishStatus::sent;
  return result;
}

TEST(RegistryBackplane, FirstJoinSubscribesAndLastLeaveUnsubscribes) {
  MockBackplane backplane;
  Registry registry;
  registry.set_backplane(&backplane);
  auto a = std::make_shared<RecordingSubscriber>();
  auto b = std::make_shared<RecordingSubscriber>();
  {
    InSequence order;
    EXPECT_CALL(backplane, subscribe(std::string_view("room"))).Times(1);
    EXPECT_CALL(backplane, unsubscribe(std::string_view("room"))).Times(1);
    EXPECT_CALL(backplane, subscribe(std::string_view("room"))).Times(1);
  }
  registry.join("room", a);
  registry.join("room", b);  // not the first: no second subscribe
  registry.leave("room", a.get());
  registry.leave("room", b.get());  // the last: unsubscribe
  registry.join("room", a);
  registry.set_backplane(nullptr);
}

TEST(RegistryBackplane, LeaveAllUnsubscribesEveryChannelItEmptied) {
  MockBackplane backplane;
  Registry registry;
  registry.set_backplane(&backplane);
  auto a = std::make_shared<RecordingSubscriber>();
  auto b = std::make_shared<RecordingSubscriber>();
  EXPECT_CALL(backplane, subscribe(_)).Times(2);
  registry.join("one", a);
  registry.join("two", a);
  registry.join("two", b);
  EXPECT_CALL(backplane, unsubscribe(std::string_view("one"))).Times(1);
  EXPECT_CALL(backplane, unsubscribe(std::string_view("two"))).Times(0);
  registry.leave_all(a.get());
}

TEST(RegistryBackplane, SettingABackplaneSubscribesTheChannelsThatHaveMembers) {
  MockBackplane backplane;
  Registry registry;
  auto a = std::make_shared<RecordingSubscriber>();
  registry.join("early", a);
  registry.join("earlier", a);
  EXPECT_CALL(backplane, subscribe(std::string_view("early"))).Times(1);
  EXPECT_CALL(backplane, subscribe(std::string_view("earlier"))).Times(1);
  registry.set_backplane(&backplane);
}

TEST(RegistryBackplane, PublishGoesThroughTheBackplaneAndNotStraightToMembers) {
  MockBackplane backplane;
  Registry registry;
  auto a = std::make_shared<RecordingSubscriber>();
  EXPECT_CALL(backplane, subscribe(_));
  registry.set_backplane(&backplane);
  registry.join("room", a);
  EXPECT_CALL(backplane, publish(std::string_view("room"), MessageKind::text, _))
      .WillOnce([](std::string_view, MessageKind, ByteView payload) {
        EXPECT_EQ(as_text(payload), "hello");
        return sent();
      });
  EXPECT_EQ(registry.publish("room", MessageKind::text, as_bytes("hello")), 0U);
  EXPECT_TRUE(a->texts().empty());  // heard only when it comes back
  EXPECT_EQ(
      registry.deliver_local("room", PreparedMessage::make(MessageKind::text, as_bytes("hello"))),
      1U);
  EXPECT_EQ(a->texts(), std::vector<std::string>{"hello"});
}

TEST(RegistryBackplane, APreparedMessageHandsItsPayloadToTheBackplane) {
  MockBackplane backplane;
  Registry registry;
  registry.set_backplane(&backplane);
  const std::string big(300, 'x');  // a 4-byte frame header
  EXPECT_CALL(backplane, publish(std::string_view("c"), MessageKind::binary, _))
      .WillOnce([&](std::string_view, MessageKind, ByteView payload) {
        EXPECT_EQ(as_text(payload), big);
        return sent();
      });
  registry.publish("c", PreparedMessage::make(MessageKind::binary, as_bytes(big)));
}

TEST(RegistryBackplane, AFailedPublishIsReportedToThePublisher) {
  MockBackplane backplane;
  Registry registry;
  registry.set_backplane(&backplane);
  PublishResult refused;
  refused.error = make_error_code(BackplaneErrc::unavailable);
  EXPECT_CALL(backplane, publish(_, _, _)).WillOnce(Return(refused));
  const PublishResult result = registry.try_publish("room", MessageKind::text, as_bytes("x"));
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.error, BackplaneErrc::unavailable);
  EXPECT_EQ(result.error.category().name(), std::string("ws.backplane"));
}

TEST(RegistryBackplane, WithoutABackplaneDeliveryIsInProcess) {
  Registry registry;
  auto a = std::make_shared<RecordingSubscriber>();
  registry.join("room", a);
  const PublishResult result = registry.try_publish("room", MessageKind::text, as_bytes("now"));
  EXPECT_EQ(result.status, PublishStatus::delivered);
  EXPECT_EQ(result.local_deliveries, 1U);
  EXPECT_EQ(a->texts(), std::vector<std::string>{"now"});
}

// ---- Several nodes on one in-memory broker --------------------------------

/// A broker in memory: publishes queue up in one total order (as a broker
/// serializes them) and pump() hands each to every node subscribed to its
/// channel at that moment, once. While down, publishes are refused.
class FakeBroker {
 public:
  class Link final : public Backplane {
   public:
    Link(FakeBroker& broker, Registry& registry) : broker_(broker), registry_(registry) {}
    PublishResult publish(std::string_view channel, MessageKind kind, ByteView payload) override {
      return broker_.publish(channel, kind, payload);
    }
    void subscribe(std::string_view channel) override { broker_.subscribe(this, channel); }
    void unsubscribe(std::string_view channel) override { broker_.unsubscribe(this, channel); }
    Registry& registry() { return registry_; }

   private:
    FakeBroker& broker_;
    Registry& registry_;
  };

  void set_down(bool down) {
    std::lock_guard lock(mutex_);
    down_ = down;
  }

  /// Delivers everything queued; returns how many node deliveries it made.
  std::size_t pump() {
    std::size_t made = 0;
    for (;;) {
      Published next;
      std::vector<Link*> receivers;
      {
        std::lock_guard lock(mutex_);
        if (queue_.empty()) return made;
        next = std::move(queue_.front());
        queue_.pop_front();
        for (auto& [link, channels] : subscriptions_) {
          if (channels.count(next.channel) != 0) receivers.push_back(link);
        }
      }
      // One frame per node: its members share it.
      for (Link* link : receivers) {
        link->registry().deliver_local(next.channel,
                                       PreparedMessage::make(next.kind, as_bytes(next.payload)));
        ++made;
      }
    }
  }

 private:
  struct Published {
    std::string channel;
    MessageKind kind = MessageKind::text;
    std::string payload;
  };

  PublishResult publish(std::string_view channel, MessageKind kind, ByteView payload) {
    std::lock_guard lock(mutex_);
    PublishResult result;
    if (down_) {
      result.error = make_error_code(BackplaneErrc::unavailable);
      return result;
    }
    queue_.push_back(Published{std::string(channel), kind, std::string(as_text(payload))});
    result.status = PublishStatus::sent;
    return result;
  }
  void subscribe(Link* link, std::string_view channel) {
    std::lock_guard lock(mutex_);
    subscriptions_[link].insert(std::string(channel));
  }
  void unsubscribe(Link* link, std::string_view channel) {
    std::lock_guard lock(mutex_);
    subscriptions_[link].erase(std::string(channel));
  }

  std::mutex mutex_;
  bool down_ = false;
  std::deque<Published> queue_;
  std::map<Link*, std::set<std::string>> subscriptions_;
};

struct Node {
  explicit Node(FakeBroker& broker) : link(broker, registry) { registry.set_backplane(&link); }
  ~Node() { registry.set_backplane(nullptr); }
  Registry registry;
  FakeBroker::Link link;
};

TEST(RegistryBackplane, EveryMemberOnEveryNodeHearsEachMessageOnceThePublisherIncluded) {
  FakeBroker broker;
  Node n1(broker), n2(broker), n3(broker);
  auto m1 = std::make_shared<RecordingSubscriber>();
  auto m2 = std::make_shared<RecordingSubscriber>();
  auto m3 = std::make_shared<RecordingSubscriber>();
  auto m3b = std::make_shared<RecordingSubscriber>();
  n1.registry.join("room", m1);
  n2.registry.join("room", m2);
  n3.registry.join("room", m3);
  n3.registry.join("room", m3b);
  n1.registry.publish("room", MessageKind::text, as_bytes("from 1"));
  n3.registry.publish("room", MessageKind::text, as_bytes("from 3"));
  EXPECT_EQ(broker.pump(), 6U);  // two messages, three nodes each
  const std::vector<std::string> expected{"from 1", "from 3"};
  EXPECT_EQ(m1->texts(), expected);
  EXPECT_EQ(m2->texts(), expected);
  EXPECT_EQ(m3->texts(), expected);
  EXPECT_EQ(m3b->texts(), expected);
  // Encode once per node: both members of node 3 share one frame.
  EXPECT_EQ(m3->received[0].get(), m3b->received[0].get());
}

TEST(RegistryBackplane, ChannelsNeverMixAcrossNodes) {
  FakeBroker broker;
  Node n1(broker), n2(broker);
  auto red = std::make_shared<RecordingSubscriber>();
  auto blue = std::make_shared<RecordingSubscriber>();
  n1.registry.join("red", red);
  n2.registry.join("blue", blue);
  n2.registry.publish("red", MessageKind::text, as_bytes("r"));
  n1.registry.publish("blue", MessageKind::text, as_bytes("b"));
  broker.pump();
  EXPECT_EQ(red->texts(), std::vector<std::string>{"r"});
  EXPECT_EQ(blue->texts(), std::vector<std::string>{"b"});
}

TEST(RegistryBackplane, ANodeWhoseLastMemberLeftHearsNothingMore) {
  FakeBroker broker;
  Node n1(broker), n2(broker);
  auto a = std::make_shared<RecordingSubscriber>();
  n2.registry.join("room", a);
  n2.registry.leave("room", a.get());
  n1.registry.publish("room", MessageKind::text, as_bytes("x"));
  EXPECT_EQ(broker.pump(), 0U);
}

TEST(RegistryBackplane, WhileTheBrokerIsDownPublishesFailVisiblyAndNothingIsHalfDelivered) {
  FakeBroker broker;
  Node n1(broker), n2(broker);
  auto a = std::make_shared<RecordingSubscriber>();
  n2.registry.join("room", a);
  broker.set_down(true);
  const PublishResult result = n1.registry.try_publish("room", MessageKind::text, as_bytes("x"));
  EXPECT_EQ(result.error, BackplaneErrc::unavailable);
  broker.set_down(false);
  EXPECT_TRUE(n1.registry.try_publish("room", MessageKind::text, as_bytes("y")).ok());
  broker.pump();
  EXPECT_EQ(a->texts(), std::vector<std::string>{"y"});
}

TEST(RegistryBackplaneThreads, EachPublishersOrderIsKeptAcrossNodes) {
  FakeBroker broker;
  Node n1(broker), n2(broker), n3(broker);
  auto far = std::make_shared<RecordingSubscriber>();
  n3.registry.join("room", far);
  constexpr int per_publisher = 300;
  std::thread p1([&] {
    for (int i = 0; i < per_publisher; ++i)
      n1.registry.publish("room", MessageKind::text, as_bytes("a" + std::to_string(i)));
  });
  std::thread p2([&] {
    for (int i = 0; i < per_publisher; ++i)
      n2.registry.publish("room", MessageKind::text, as_bytes("b" + std::to_string(i)));
  });
  std::thread pumper([&] {
    for (int round = 0; round < 200; ++round) broker.pump();
  });
  p1.join();
  p2.join();
  pumper.join();
  broker.pump();
  int next_a = 0;
  int next_b = 0;
  for (const std::string& text : far->texts()) {
    const int n = std::stoi(text.substr(1));
    if (text[0] == 'a') {
      EXPECT_EQ(n, next_a++);
    } else {
      EXPECT_EQ(n, next_b++);
    }
  }
  EXPECT_EQ(next_a, per_publisher);
  EXPECT_EQ(next_b, per_publisher);
}

}  // namespace
}  // namespace ws::channels
