// Blocking adapter: data and control frames over loopback, from empty
// messages to the 16 MiB default limit, whole or in fragments.
#include <gtest/gtest.h>

#include "blocking_test_support.hpp"
#include "ws/base/error.hpp"

namespace ws::posix::test {
namespace {

using Type = OwnedEvent::Type;

class BlockingMessageSizes : public ::testing::TestWithParam<std::size_t> {};

// The blocking client sends a binary and then a text message of each size
// to an echoing blocking server and gets the same bytes back.
TEST_P(BlockingMessageSizes, EchoArrivesIntactBetweenBlockingClientAndServer) {
  const std::size_t size = GetParam();
  Listener listener;
  Recorder server;
  server.echo = true;
  ServerThread thread(listener, server);

  const Bytes binary = pattern_bytes(size);
  const std::string text(size, 'x');
  Recorder client;
  // One message at a time: two 16 MiB messages queued at once would pass
  // the default 4 MiB high-water mark and trip the slow-subscriber policy.
  client.opened_hook = [&](const BlockingSessionPtr& session) {
    EXPECT_FALSE(session->send_binary(binary));
  };
  client.message_hook = [&](const BlockingSessionPtr& session, const Message& message) {
    const std::error_code error =
        message.kind == MessageKind::binary ? session->send_text(text) : session->close();
    EXPECT_FALSE(error) << error.message();
  };
  EXPECT_FALSE(connect(listener.url(), client));
  EXPECT_FALSE(thread.result());

  const std::vector<OwnedEvent> received = client.messages();
  ASSERT_EQ(received.size(), 2U);
  EXPECT_EQ(received[0].kind, MessageKind::binary);
  EXPECT_TRUE(received[0].payload == binary);
  EXPECT_EQ(received[1].kind, MessageKind::text);
  EXPECT_TRUE(received[1].text() == text);
}

// Around every length encoding boundary (RFC 6455 5.2: 7 bits, 16 bits,
// 64 bits), the input buffer size, and the 16 MiB default message limit.
INSTANTIATE_TEST_SUITE_P(Blocking, BlockingMessageSizes,
                         ::testing::Values(0U, 1U, 125U, 126U, 65535U, 65536U, 65537U,
                                           1024U * 1024U, 16U * 1024U * 1024U));

TEST(BlockingMessages, FragmentedInputInSmallWritesBecomesOneMessage) {
  Listener listener;
  Recorder server;
  server.echo = true;
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);

  // RFC 6455 5.4: a text message in three fragments, with a ping between.
  const Bytes wire = ws::test::concat({ws::test::client_frame(Opcode::text, "frag", false),
                                       ws::test::client_frame(Opcode::continuation, "ment", false),
                                       ws::test::client_frame(Opcode::ping, "mid"),
                                       ws::test::client_frame(Opcode::continuation, "ed")});
  // Three bytes per write: frames split across reads at every position.
  for (std::size_t at = 0; at < wire.size(); at += 3) {
    client.send(ByteView(wire).subspan(at, std::min<std::size_t>(3, wire.size() - at)));
  }
  const std::optional<OwnedEvent> pong = client.next_event();
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(pong->type, Type::pong);
  EXPECT_EQ(pong->text(), "mid");
  const std::optional<OwnedEvent> echo = client.next_event();
  ASSERT_TRUE(echo.has_value());
  EXPECT_EQ(echo->type, Type::message);
  EXPECT_EQ(echo->text(), "fragmented");

  client.send(ws::test::client_frame(Opcode::close, ""));
  EXPECT_FALSE(thread.result());
  const std::vector<OwnedEvent> messages = server.messages();
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].text(), "fragmented");
}

TEST(BlockingMessages, PingIsAnsweredWithPongAndReported) {
  Listener listener;
  Recorder server;
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);

  client.send(ws::test::client_frame(Opcode::ping, "are you there"));
  const std::optional<OwnedEvent> pong = client.next_event();
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(pong->type, Type::pong);  // RFC 6455 5.5.2: same payload
  EXPECT_EQ(pong->text(), "are you there");
  // An unsolicited pong reaches the handler too.
  client.send(ws::test::client_frame(Opcode::pong, "heartbeat"));
  client.send(ws::test::client_frame(Opcode::close, ""));
  EXPECT_FALSE(thread.result());

  const std::vector<OwnedEvent> events = server.events();
  ASSERT_EQ(events.size(), 4U);
  EXPECT_EQ(events[1].type, Type::ping);
  EXPECT_EQ(events[1].text(), "are you there");
  EXPECT_EQ(events[2].type, Type::pong);
  EXPECT_EQ(events[2].text(), "heartbeat");
}

TEST(BlockingMessages, KeepaliveTimerSendsPingsWhileThePeerIsSilent) {
  Listener listener;
  Recorder server;
  BlockingOptions options;
  // The loop must wake at next_deadline() with no I/O at all.
  options.config.timeouts.keepalive_interval = 50ms;
  ServerThread thread(listener, server, options);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);

  for (int i = 0; i < 2; ++i) {
    const std::optional<OwnedEvent> ping = client.next_event();
    ASSERT_TRUE(ping.has_value());
    EXPECT_EQ(ping->type, Type::ping);
  }
  client.send(ws::test::client_frame(Opcode::close, ""));
  EXPECT_FALSE(thread.result());
}

TEST(BlockingMessages, IdleTimeoutClosesASilentPeer) {
  Listener listener;
  Recorder server;
  BlockingOptions options;
  options.config.timeouts.idle_timeout = 100ms;
  ServerThread thread(listener, server, options);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);

  const std::optional<OwnedEvent> close = client.next_event();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->type, Type::closed);
  EXPECT_EQ(close->code, CloseCode::going_away);
  EXPECT_EQ(thread.result(), errc::idle_timeout);
  EXPECT_TRUE(client.wait_for_eof());
}

TEST(BlockingMessages, OversizedMessageFailsTheConnectionWith1009) {
  Listener listener;
  Recorder server;
  BlockingOptions options;
  options.config.limits.max_message_size = 1000;
  ServerThread thread(listener, server, options);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);

  client.send(ws::test::client_frame(Opcode::binary, std::string(1001, 'a')));
  const std::optional<OwnedEvent> close = client.next_event();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->type, Type::closed);
  EXPECT_EQ(close->code, CloseCode::message_too_big);
  EXPECT_EQ(thread.result(), errc::message_too_large);
  ASSERT_TRUE(server.closed().has_value());
  EXPECT_EQ(server.closed()->sent_code, CloseCode::message_too_big);
}

}  // namespace
}  // namespace ws::posix::test
