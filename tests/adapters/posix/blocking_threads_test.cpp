// Blocking adapter: other threads send, close and abort while the owning
// thread sits in poll() or reads. Run under ThreadSanitizer (*Threads*).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "blocking_test_support.hpp"
#include "ws/base/error.hpp"

namespace ws::posix::test {
namespace {

using Type = OwnedEvent::Type;

// "thread:index" labels, so the receiver can check each sender's order.
std::string label(int thread, int index) {
  return std::to_string(thread) + ":" + std::to_string(index);
}

std::pair<int, int> parse_label(const std::string& text) {
  const std::size_t colon = text.find(':');
  return {std::stoi(text.substr(0, colon)), std::stoi(text.substr(colon + 1))};
}

TEST(BlockingThreads, SendFromAnotherThreadWakesTheOwnerBlockedInPoll) {
  Listener listener;
  Recorder server;  // no timers: the owner waits in poll() without a timeout
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  const BlockingSessionPtr session = server.wait_for_session();
  ASSERT_NE(session, nullptr);

  std::thread sender([session] { EXPECT_FALSE(session->send_text("pushed from elsewhere")); });
  sender.join();
  const std::optional<OwnedEvent> pushed = client.next_event();
  ASSERT_TRUE(pushed.has_value());
  EXPECT_EQ(pushed->text(), "pushed from elsewhere");

  client.send(ws::test::client_frame(Opcode::close, ""));
  EXPECT_FALSE(thread.result());
}

TEST(BlockingThreads, ConcurrentSendersKeepEachSendersOrder) {
  constexpr int kThreads = 4;
  constexpr int kEach = 250;
  Listener listener;
  Recorder server;
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  const BlockingSessionPtr session = server.wait_for_session();
  ASSERT_NE(session, nullptr);

  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([session, t] {
      for (int i = 0; i < kEach; ++i) EXPECT_FALSE(session->send_text(label(t, i)));
    });
  }
  std::map<int, int> next;  // per sender, the index expected next
  for (int received = 0; received < kThreads * kEach; ++received) {
    const std::optional<OwnedEvent> event = client.next_event();
    ASSERT_TRUE(event.has_value());
    const auto [sender, index] = parse_label(event->text());
    ASSERT_EQ(index, next[sender]) << "sender " << sender;
    next[sender] = index + 1;
  }
  for (std::thread& sender : senders) sender.join();
  client.send(ws::test::client_frame(Opcode::close, ""));
  EXPECT_FALSE(thread.result());
}

TEST(BlockingThreads, CloseFromAnotherThreadFollowsThatThreadsMessages) {
  Listener listener;
  Recorder server;
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  const BlockingSessionPtr session = server.wait_for_session();
  ASSERT_NE(session, nullptr);

  std::thread closer([session] {
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(session->send_text(label(0, i)));
    EXPECT_FALSE(session->close(4002, "shift over"));
  });
  for (int i = 0; i < 100; ++i) {
    const std::optional<OwnedEvent> event = client.next_event();
    ASSERT_TRUE(event.has_value());
    ASSERT_EQ(event->text(), label(0, i));
  }
  const std::optional<OwnedEvent> close = client.next_event();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->type, Type::closed);
  EXPECT_EQ(static_cast<int>(close->code), 4002);
  closer.join();
  client.send_decoder_output();
  EXPECT_FALSE(thread.result());
  EXPECT_TRUE(client.wait_for_eof());
}

TEST(BlockingThreads, AbortFromAnotherThreadEndsTheConnectionAtOnce) {
  Listener listener;
  Recorder server;
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  const BlockingSessionPtr session = server.wait_for_session();
  ASSERT_NE(session, nullptr);

  std::thread aborter([session] { session->abort(); });
  aborter.join();
  EXPECT_EQ(thread.result(), std::errc::operation_canceled);
  ASSERT_TRUE(server.closed().has_value());
  EXPECT_EQ(server.closed()->error, std::errc::operation_canceled);
  EXPECT_TRUE(client.wait_for_eof());
  EXPECT_EQ(session->send_text("after"), errc::not_open);
}

TEST(BlockingThreads, OwnerEchoesWhileAnotherThreadPushes) {
  constexpr int kEchoes = 300;
  constexpr int kPushes = 300;
  Listener listener;
  Recorder server;
  server.echo = true;  // the owner thread answers what it reads
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  const BlockingSessionPtr session = server.wait_for_session();
  ASSERT_NE(session, nullptr);

  std::thread pusher([session] {
    for (int i = 0; i < kPushes; ++i) EXPECT_FALSE(session->send_text(label(1, i)));
  });
  for (int i = 0; i < kEchoes; ++i) {
    client.send(ws::test::client_frame(Opcode::text, label(0, i)));
  }
  std::map<int, int> next;
  for (int received = 0; received < kEchoes + kPushes; ++received) {
    const std::optional<OwnedEvent> event = client.next_event();
    ASSERT_TRUE(event.has_value());
    const auto [source, index] = parse_label(event->text());
    ASSERT_EQ(index, next[source]) << "source " << source;
    next[source] = index + 1;
  }
  pusher.join();
  client.send(ws::test::client_frame(Opcode::close, ""));
  EXPECT_FALSE(thread.result());
}

TEST(BlockingThreads, BlockingClientSendsFromAnotherThread) {
  Listener listener;
  Recorder server;
  server.echo = true;
  ServerThread server_thread(listener, server);

  Recorder client;
  std::promise<std::error_code> outcome;
  std::thread client_thread([&] { outcome.set_value(connect(listener.url(), client)); });
  const BlockingSessionPtr session = client.wait_for_session();
  ASSERT_NE(session, nullptr);
  // The client masks each frame on its own thread; the server would fail
  // the connection on an unmasked one (RFC 6455 5.1).
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(session->send_text(label(0, i)));
  ASSERT_TRUE(client.wait_for_messages(50));
  EXPECT_FALSE(session->close());
  std::future<std::error_code> result = outcome.get_future();
  ASSERT_EQ(result.wait_for(kWait), std::future_status::ready);
  client_thread.join();
  EXPECT_FALSE(result.get());
  EXPECT_FALSE(server_thread.result());

  const std::vector<OwnedEvent> echoes = client.messages();
  ASSERT_EQ(echoes.size(), 50U);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(echoes[static_cast<std::size_t>(i)].text(), label(0, i));
}

}  // namespace
}  // namespace ws::posix::test
