// Blocking adapter with channels: connections join a channel named after
// their request path; publishers on other threads reach only their
// channel's connections, in order; a connection that ends leaves its
// channels. (Publishing threads, hence "Threads".)
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "blocking_test_support.hpp"
#include "ws/channels/registry.hpp"

namespace ws::posix::test {
namespace {

using Type = OwnedEvent::Type;

struct ChannelServer {
  Recorder handler;
  std::unique_ptr<ServerThread> thread;
};

TEST(BlockingChannelsThreads, PublishedMessagesReachOnlyTheirChannelInOrder) {
  constexpr int kMessages = 200;
  const std::vector<std::string> paths = {"/meeting", "/hub", "/meeting", "/hub"};
  Listener listener;
  channels::Registry registry;
  BlockingOptions options;
  options.registry = &registry;

  std::vector<std::unique_ptr<ChannelServer>> servers;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (const std::string& path : paths) {
    auto server = std::make_unique<ChannelServer>();
    server->handler.opened_hook = [&registry](const BlockingSessionPtr& session) {
      registry.join(session->request()->path, session);
    };
    server->thread = std::make_unique<ServerThread>(listener, server->handler, options);
    auto client = std::make_unique<RawClient>(listener.port);
    ASSERT_EQ(client->handshake(path).rfind("HTTP/1.1 101 ", 0), 0U);
    ASSERT_NE(server->handler.wait_for_session(), nullptr);
    servers.push_back(std::move(server));
    clients.push_back(std::move(client));
  }
  ASSERT_EQ(registry.member_count("/meeting"), 2U);
  ASSERT_EQ(registry.member_count("/hub"), 2U);

  // One publisher per channel, both at once.
  std::vector<std::thread> publishers;
  for (const std::string channel : {"/meeting", "/hub"}) {
    publishers.emplace_back([&registry, channel] {
      for (int i = 0; i < kMessages; ++i) {
        const std::string text = channel + " " + std::to_string(i);
        EXPECT_EQ(registry.publish(channel, MessageKind::text, as_bytes(text)), 2U);
      }
    });
  }
  for (std::size_t c = 0; c < clients.size(); ++c) {
    for (int i = 0; i < kMessages; ++i) {
      const std::optional<OwnedEvent> event = clients[c]->next_event();
      ASSERT_TRUE(event.has_value());
      ASSERT_EQ(event->text(), paths[c] + " " + std::to_string(i));
    }
  }
  for (std::thread& publisher : publishers) publisher.join();

  for (std::size_t c = 0; c < clients.size(); ++c) {
    clients[c]->send(ws::test::client_frame(Opcode::close, ""));
    EXPECT_FALSE(servers[c]->thread->result());
    // Nothing but the published messages arrived, then the close reply.
    const std::optional<OwnedEvent> last = clients[c]->next_event();
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(last->type, Type::closed);
  }
  // Every session left its channel, though the handlers still hold them.
  EXPECT_EQ(registry.member_count("/meeting"), 0U);
  EXPECT_EQ(registry.member_count("/hub"), 0U);
  EXPECT_NE(servers[0]->handler.session(), nullptr);
}

TEST(BlockingChannelsThreads, APublisherOnTheOwnerThreadReachesItsOwnConnectionToo) {
  Listener listener;
  channels::Registry registry;
  BlockingOptions options;
  options.registry = &registry;
  Recorder server;
  server.opened_hook = [&registry](const BlockingSessionPtr& session) {
    registry.join("room", session);
  };
  // A chat: whatever one member says is published to the whole room,
  // including the speaker, from the speaker's own thread.
  server.message_hook = [&registry](const BlockingSessionPtr&, const Message& message) {
    EXPECT_EQ(registry.publish("room", MessageKind::text, message.payload), 1U);
  };
  ServerThread thread(listener, server, options);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  client.send(ws::test::client_frame(Opcode::text, "hello room"));
  const std::optional<OwnedEvent> event = client.next_event();
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->text(), "hello room");
  client.send(ws::test::client_frame(Opcode::close, ""));
  EXPECT_FALSE(thread.result());
  EXPECT_EQ(registry.member_count("room"), 0U);
}

}  // namespace
}  // namespace ws::posix::test
