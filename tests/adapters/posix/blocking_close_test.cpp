// Blocking adapter: the close handshake from either side, and peers that end
// the stream without one.
#include <gtest/gtest.h>

#include "blocking_test_support.hpp"
#include "ws/base/error.hpp"

namespace ws::posix::test {
namespace {

using Type = OwnedEvent::Type;

TEST(BlockingClose, ClientInitiatedCloseIsAnsweredAndTheServerCloseFirst) {
  Listener listener;
  Recorder server;
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);

  client.send(ws::test::frame({Opcode::close}, ws::test::close_payload(4001, "bye")));
  const std::optional<OwnedEvent> reply = client.next_event();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->type, Type::closed);
  EXPECT_EQ(static_cast<int>(reply->code), 4001);  // RFC 6455 5.5.1: echo the code
  // RFC 6455 7.1.1: the server closes the TCP connection first.
  EXPECT_TRUE(client.wait_for_eof());
  EXPECT_FALSE(thread.result());

  const std::optional<OwnedEvent> closed = server.closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(static_cast<int>(closed->code), 4001);
  EXPECT_EQ(closed->text(), "bye");
  EXPECT_FALSE(closed->error);
  EXPECT_FALSE(server.session()->is_open());
}

TEST(BlockingClose, ServerInitiatedCloseWaitsForTheReply) {
  Listener listener;
  Recorder server;
  server.opened_hook = [](const BlockingSessionPtr& session) {
    EXPECT_FALSE(session->send_text("last words"));
    EXPECT_FALSE(session->close(4000, "done"));
    // After close nothing more may be sent, nor closed twice.
    EXPECT_EQ(session->send_text("too late"), errc::not_open);
    EXPECT_EQ(session->close(), errc::not_open);
  };
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);

  const std::optional<OwnedEvent> message = client.next_event();
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->text(), "last words");
  const std::optional<OwnedEvent> close = client.next_event();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->type, Type::closed);
  EXPECT_EQ(static_cast<int>(close->code), 4000);
  EXPECT_EQ(close->text(), "done");
  EXPECT_FALSE(thread.finished_within(50ms));  // still waiting for the reply
  client.send_decoder_output();                // the client's close reply
  EXPECT_FALSE(thread.result());
  EXPECT_TRUE(client.wait_for_eof());
  ASSERT_TRUE(server.closed().has_value());
  EXPECT_FALSE(server.closed()->error);
}

TEST(BlockingClose, CloseChecksItsArgumentsAtOnce) {
  Listener listener;
  Recorder server;
  server.opened_hook = [](const BlockingSessionPtr& session) {
    EXPECT_EQ(session->close(CloseCode::abnormal), errc::close_code_not_sendable);
    EXPECT_EQ(session->close(1000, std::string(124, 'r')), errc::close_reason_too_long);
    EXPECT_EQ(session->close(1000, "\xff"), errc::close_reason_not_utf8);
    EXPECT_FALSE(session->close(CloseCode::going_away));
  };
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  const std::optional<OwnedEvent> close = client.next_event();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->code, CloseCode::going_away);
  client.send_decoder_output();
  EXPECT_FALSE(thread.result());
}

TEST(BlockingClose, ServerCloseSeenByTheBlockingClient) {
  Listener listener;
  Recorder server;
  server.message_hook = [](const BlockingSessionPtr& session, const Message&) {
    EXPECT_FALSE(session->close(CloseCode::service_restart, "restarting"));
  };
  ServerThread thread(listener, server);
  Recorder client;
  client.opened_hook = [](const BlockingSessionPtr& session) {
    EXPECT_FALSE(session->send_text("anyone?"));
  };
  EXPECT_FALSE(connect(listener.url(), client));
  EXPECT_FALSE(thread.result());
  ASSERT_TRUE(client.closed().has_value());
  EXPECT_EQ(client.closed()->code, CloseCode::service_restart);
  EXPECT_EQ(client.closed()->text(), "restarting");
  EXPECT_FALSE(client.closed()->error);
}

TEST(BlockingClose, PeerThatVanishesMidFrameEndsWithUnexpectedEof) {
  Listener listener;
  Recorder server;
  ServerThread thread(listener, server);
  RawClient client(listener.port);
  ASSERT_EQ(client.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  ASSERT_NE(server.wait_for_session(), nullptr);

  // A header announcing 100 payload bytes, 10 of them, then the socket goes.
  ws::test::FrameSpec spec;
  spec.opcode = Opcode::binary;
  Bytes partial = ws::test::frame(spec, pattern_bytes(100));
  partial.resize(partial.size() - 90);
  client.send(partial);
  client.close_socket();

  EXPECT_EQ(thread.result(), errc::unexpected_eof);
  const std::optional<OwnedEvent> closed = server.closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, CloseCode::abnormal);
  EXPECT_EQ(closed->error, errc::unexpected_eof);
  EXPECT_TRUE(server.messages().empty());
  EXPECT_EQ(server.session()->send_text("gone"), errc::not_open);
}

TEST(BlockingClose, ServerThatVanishesEndsTheBlockingClient) {
  Listener listener;
  Recorder client;
  std::thread server([&] {
    // Answers the handshake by hand, then drops the connection.
    FileDescriptor fd = listener.accept_one();
    ASSERT_TRUE(fd.valid());
    Result<Connection> connection = Connection::accept_upgrade(
        [&] {
          std::string head;
          char c = 0;
          while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd.get(), &c, 1, 0) == 1) {
            head.push_back(c);
          }
          return head;
        }(),
        {});
    ASSERT_TRUE(connection.has_value());
    const Bytes answer = ws::test::take_output(*connection);
    ASSERT_FALSE(write_all(fd.get(), answer.data(), answer.size()));
    ASSERT_TRUE(client.wait_until([](const auto& events) { return !events.empty(); }));
  });
  EXPECT_EQ(connect(listener.url(), client), errc::unexpected_eof);
  server.join();
  ASSERT_TRUE(client.closed().has_value());
  EXPECT_EQ(client.closed()->error, errc::unexpected_eof);
}

}  // namespace
}  // namespace ws::posix::test
