// Channels over epoll sessions: publishing reaches exactly the members of
// a channel, in each publisher's order; slow subscribers meet their policy.
#include <gtest/gtest.h>

#include <map>

#include "epoll_test_support.hpp"
#include "ws/channels/registry.hpp"

namespace ws::posix::epoll_test {
namespace {

struct ChannelFixture {
  explicit ChannelFixture(BackpressureLimits limits = {}) {
    EpollServerOptions options;
    options.registry = &registry;  // sessions join the channel named by their path
    options.backpressure = limits;
    server.emplace(std::move(options), /*echo=*/false);
    client_loop.start();
  }
  ~ChannelFixture() {
    client_loop.stop();
    server.reset();
  }
  // Connects a client to `path` and waits until the server has it in the channel.
  bool join(std::string_view path, Recorder& recorder) {
    const std::size_t before = registry.member_count(path);
    Result<EpollSessionPtr> session = client.connect(server->url(path), recorder.handler());
    if (!session) return false;
    clients.push_back(*session);
    return eventually([&] { return registry.member_count(path) == before + 1; });
  }

  channels::Registry registry;
  std::optional<ServerFixture> server;
  LoopThread client_loop;
  EpollClient client{client_loop.loop()};
  std::vector<EpollSessionPtr> clients;
};

TEST(EpollChannels, TwoChannelsNeverMix) {
  Recorder meeting_a, meeting_b, hub;  // outlive the loops
  ChannelFixture fixture;
  ASSERT_TRUE(fixture.join("/meeting", meeting_a));
  ASSERT_TRUE(fixture.join("/meeting", meeting_b));
  ASSERT_TRUE(fixture.join("/hub", hub));
  for (int n = 0; n < 50; ++n) {
    EXPECT_EQ(fixture.registry.publish("/meeting", MessageKind::text,
                                       as_bytes("meeting " + std::to_string(n))),
              2u);
    EXPECT_EQ(
        fixture.registry.publish("/hub", MessageKind::text, as_bytes("hub " + std::to_string(n))),
        1u);
  }
  ASSERT_TRUE(eventually([&] { return meeting_a.message_count() == 50; }));
  ASSERT_TRUE(eventually([&] { return meeting_b.message_count() == 50; }));
  ASSERT_TRUE(eventually([&] { return hub.message_count() == 50; }));
  for (Recorder* recorder : {&meeting_a, &meeting_b}) {
    int n = 0;
    for (const OwnedEvent& message : recorder->messages()) {
      EXPECT_EQ(message.text(), "meeting " + std::to_string(n++));
    }
  }
  int n = 0;
  for (const OwnedEvent& message : hub.messages())
    EXPECT_EQ(message.text(), "hub " + std::to_string(n++));
}

TEST(EpollChannels, ASessionLeavesItsChannelsWhenItEnds) {
  Recorder recorder;
  ChannelFixture fixture;
  ASSERT_TRUE(fixture.join("/room", recorder));
  fixture.clients[0]->close();
  EXPECT_TRUE(eventually([&] { return fixture.registry.member_count("/room") == 0; }));
}

TEST(EpollChannelsThreads, EachPublishersOrderHoldsForEverySubscriber) {
  Recorder subscribers[3];
  ChannelFixture fixture;
  for (Recorder& subscriber : subscribers) ASSERT_TRUE(fixture.join("/room", subscriber));
  constexpr int per_publisher = 300;
  std::vector<std::thread> publishers;
  for (int p = 0; p < 2; ++p) {
    publishers.emplace_back([&, p] {
      for (int n = 0; n < per_publisher; ++n) {
        fixture.registry.publish("/room", MessageKind::text,
                                 as_bytes(std::to_string(p) + ":" + std::to_string(n)));
      }
    });
  }
  for (std::thread& publisher : publishers) publisher.join();
  for (Recorder& subscriber : subscribers) {
    ASSERT_TRUE(eventually([&] { return subscriber.message_count() == 2 * per_publisher; }));
    std::map<int, int> next;
    for (const OwnedEvent& message : subscriber.messages()) {
      const std::string text = message.text();
      const int publisher = text[0] - '0';
      EXPECT_EQ(std::stoi(text.substr(2)), next[publisher]++);
    }
  }
}

// A subscriber whose socket nobody reads: a raw peer that stops after the handshake.
TEST(EpollChannels, ASubscriberThatNeverReadsIsClosedWith1013) {
  BackpressureLimits limits;
  limits.high_water = 256 * 1024;
  limits.low_water = 64 * 1024;
  Recorder fast;
  ChannelFixture fixture(limits);
  ASSERT_TRUE(fixture.join("/news", fast));
  RawPeer slow(fixture.server->port());
  ASSERT_TRUE(slow.handshake("/news"));
  ASSERT_TRUE(eventually([&] { return fixture.registry.member_count("/news") == 2; }));
  EpollSessionPtr slow_session;
  ASSERT_TRUE(eventually([&] {
    slow_session = fixture.server->recorder.session(1);
    return slow_session != nullptr;
  }));

  const std::string item(8 * 1024, 'n');
  std::size_t published = 0;
  std::size_t peak_backlog = 0;
  // Far more than the socket buffers hold, at the pace of the fast reader
  // (a publisher that outruns the loop itself would push both over the limit).
  for (int n = 0; n < 4000 && !slow_session->over_limit(); ++n) {
    fixture.registry.publish("/news", MessageKind::binary, as_bytes(item));
    ++published;
    peak_backlog = std::max(peak_backlog, slow_session->backlog_bytes());
    ASSERT_TRUE(eventually([&] { return fast.message_count() == published; }));
  }
  EXPECT_TRUE(slow_session->over_limit());
  EXPECT_LE(peak_backlog, limits.high_water + item.size() + 64);
  // It leaves the channel at once; the fast subscriber is untouched.
  ASSERT_TRUE(eventually([&] { return fixture.registry.member_count("/news") == 1; }, 2s));
  ASSERT_TRUE(eventually([&] { return fast.message_count() == published; }));
  EXPECT_TRUE(fast.closes().empty());
  // When the slow peer finally reads, the close frame with 1013 follows what
  // was queued before the limit (RFC 6455 7.4.1: try again later).
  std::optional<OwnedEvent> event;
  std::size_t received = 0;
  while ((event = slow.next_event()) && event->type == OwnedEvent::Type::message) ++received;
  ASSERT_TRUE(event);
  EXPECT_EQ(event->type, OwnedEvent::Type::closed);
  EXPECT_EQ(event->code, CloseCode::try_again_later);
  EXPECT_LT(received, published);
}

TEST(EpollChannels, TheDropPolicyDropsAndCountsButKeepsTheSubscriber) {
  BackpressureLimits limits;
  limits.high_water = 256 * 1024;
  limits.low_water = 64 * 1024;
  limits.policy = SlowSubscriberPolicy::drop_messages;
  ChannelFixture fixture(limits);
  RawPeer slow(fixture.server->port());
  const int small = 16 * 1024;
  ::setsockopt(slow.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ASSERT_TRUE(slow.handshake("/news"));
  ASSERT_TRUE(eventually([&] { return fixture.registry.member_count("/news") == 1; }));
  const EpollSessionPtr session = fixture.server->recorder.session();
  const std::string item(8 * 1024, 'n');
  std::size_t peak_backlog = 0;
  for (int n = 0; n < 4000 && session->dropped_count() == 0; ++n) {
    fixture.registry.publish("/news", MessageKind::binary, as_bytes(item));
    peak_backlog = std::max(peak_backlog, session->backlog_bytes());
    if (n % 32 == 31) std::this_thread::sleep_for(1ms);  // let the loop write
  }
  EXPECT_GT(session->dropped_count(), 0u);
  EXPECT_LE(peak_backlog, limits.high_water + item.size() + 64);
  EXPECT_TRUE(session->is_open());
  EXPECT_EQ(fixture.registry.member_count("/news"), 1u);
}

}  // namespace
}  // namespace ws::posix::epoll_test
