// The epoll client against the epoll server (and against peers that fail
// it): connect, messages of every size class up to 16 MiB, close, refusal.
#include <gtest/gtest.h>

#include "epoll_test_support.hpp"

namespace ws::posix::epoll_test {
namespace {

Bytes pattern(std::size_t size) {
  Bytes bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>((i * 31 + 7) & 0xff);
  return bytes;
}

// A server and a client on one loop (they share the thread, as they may).
struct ClientFixture : ServerFixture {
  explicit ClientFixture(EpollServerOptions options = {}, EpollClientOptions client_options = {})
      : ServerFixture(std::move(options)), client(runner.loop(), std::move(client_options)) {}
  // The loop calls into client_recorder: stop it before that goes.
  ~ClientFixture() { runner.stop(); }

  EpollSessionPtr connect(std::string_view path = "/chat") {
    Result<EpollSessionPtr> session = client.connect(url(path), client_recorder.handler());
    return session ? *session : nullptr;
  }

  Recorder client_recorder;
  EpollClient client;
};

TEST(EpollClient, ConnectsAndOpens) {
  ClientFixture fixture;
  const EpollSessionPtr session = fixture.connect();
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(session->role(), Role::client);
  ASSERT_TRUE(eventually([&] { return fixture.client_recorder.open_count() == 1; }));
  EXPECT_TRUE(session->is_open());
  EXPECT_EQ(session->request(), nullptr);
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
}

TEST(EpollClient, EchoesMessagesFromZeroBytesTo16MiB) {
  ClientFixture fixture;
  const EpollSessionPtr session = fixture.connect();
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(eventually([&] { return fixture.client_recorder.open_count() == 1; }));
  // Each length-encoding boundary of RFC 6455 5.2, then large messages up to
  // the default 16 MiB limit.
  const std::size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20, 16u << 20};
  std::size_t expected = 0;
  for (const std::size_t size : sizes) {
    const Bytes payload = pattern(size);
    ASSERT_FALSE(session->send_binary(payload)) << size;
    ++expected;
    ASSERT_TRUE(
        eventually([&] { return fixture.client_recorder.message_count() == expected; }, 60s))
        << size;
    const OwnedEvent echo = fixture.client_recorder.messages().back();
    EXPECT_EQ(echo.kind, MessageKind::binary);
    EXPECT_TRUE(echo.payload == payload) << size;
  }
  ASSERT_FALSE(session->send_text(""));
  ASSERT_FALSE(session->send_text("h\xc3\xa9llo"));
  ASSERT_TRUE(eventually([&] { return fixture.client_recorder.message_count() == expected + 2; }));
  const std::vector<OwnedEvent> all = fixture.client_recorder.messages();
  EXPECT_EQ(all[expected].kind, MessageKind::text);
  EXPECT_EQ(all[expected].text(), "");
  EXPECT_EQ(all[expected + 1].text(), "h\xc3\xa9llo");
}

TEST(EpollClient, MessagesSentBeforeOpenWaitForTheHandshake) {
  ClientFixture fixture;
  const EpollSessionPtr session = fixture.connect();
  ASSERT_NE(session, nullptr);
  ASSERT_FALSE(session->send_text("first"));
  ASSERT_FALSE(session->send_text("second"));
  ASSERT_TRUE(eventually([&] { return fixture.client_recorder.message_count() == 2; }));
  EXPECT_EQ(fixture.client_recorder.messages()[0].text(), "first");
  EXPECT_EQ(fixture.client_recorder.messages()[1].text(), "second");
}

TEST(EpollClient, ClosesCleanlyAndBothSidesSeeTheCode) {
  ClientFixture fixture;
  const EpollSessionPtr session = fixture.connect();
  ASSERT_TRUE(eventually([&] { return fixture.client_recorder.open_count() == 1; }));
  ASSERT_FALSE(session->close(CloseCode::normal, "bye"));
  ASSERT_TRUE(eventually([&] { return fixture.client_recorder.close_count() == 1; }));
  ASSERT_TRUE(eventually([&] { return fixture.recorder.close_count() == 1; }));
  EXPECT_EQ(fixture.client_recorder.closes()[0].code, CloseCode::normal);
  EXPECT_FALSE(fixture.client_recorder.closes()[0].error);
  EXPECT_EQ(fixture.recorder.closes()[0].code, CloseCode::normal);
  EXPECT_EQ(fixture.recorder.closes()[0].reason, "bye");
  EXPECT_EQ(session->state(), SessionState::closed);
  EXPECT_TRUE(eventually([&] { return fixture.server->connection_count() == 0; }));
}

TEST(EpollClient, SeesTheCloseTheServerStarts) {
  ClientFixture fixture;
  const EpollSessionPtr session = fixture.connect();
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  ASSERT_FALSE(fixture.recorder.session()->close(CloseCode::policy_violation, "rules"));
  ASSERT_TRUE(eventually([&] { return fixture.client_recorder.close_count() == 1; }));
  EXPECT_EQ(fixture.client_recorder.closes()[0].code, CloseCode::policy_violation);
  EXPECT_EQ(fixture.client_recorder.closes()[0].reason, "rules");
  EXPECT_FALSE(fixture.client_recorder.closes()[0].error);
}

TEST(EpollClient, ReportsARefusedConnect) {
  std::uint16_t closed_port = 0;
  {
    Result<FileDescriptor> probe = listen_tcp("127.0.0.1", 0, 1);
    ASSERT_TRUE(probe);
    closed_port = local_port(probe->get());
  }  // closed again: nobody listens there now
  Recorder recorder;
  LoopThread runner;
  runner.start();
  EpollClient client(runner.loop());
  Result<EpollSessionPtr> session =
      client.connect("ws://127.0.0.1:" + std::to_string(closed_port) + "/", recorder.handler());
  if (!session) {
    EXPECT_EQ(session.error(), std::errc::connection_refused);  // refused at once
    return;
  }
  ASSERT_TRUE(eventually([&] { return recorder.close_count() == 1; }));
  EXPECT_EQ(recorder.closes()[0].error, std::errc::connection_refused);
  EXPECT_EQ(recorder.open_count(), 0u);
  EXPECT_EQ((*session)->state(), SessionState::closed);
}

TEST(EpollClient, RejectsUrlsItCannotServe) {
  LoopThread runner;
  EpollClient client(runner.loop());
  EXPECT_EQ(client.connect("http://127.0.0.1/", {}).error(), make_error_code(errc::invalid_url));
  EXPECT_EQ(client.connect("wss://127.0.0.1/", {}).error(), make_error_code(errc::invalid_url));
}

TEST(EpollClient, ReportsTheStatusOfARejectedUpgrade) {
  EpollServerOptions options;
  options.on_upgrade = [](const UpgradeRequest&) {
    return EpollUpgradeDecision::reject(403, "go away");
  };
  ClientFixture fixture(std::move(options));
  ASSERT_NE(fixture.connect(), nullptr);
  ASSERT_TRUE(eventually([&] { return fixture.client_recorder.close_count() == 1; }));
  EXPECT_EQ(fixture.client_recorder.rejected_statuses(), std::vector<int>{403});
  EXPECT_EQ(fixture.client_recorder.closes()[0].error, make_error_code(errc::unexpected_status));
  EXPECT_EQ(fixture.client_recorder.open_count(), 0u);
}

TEST(EpollClient, GivesUpOnAServerThatNeverAnswers) {
  Result<FileDescriptor> silent = listen_tcp("127.0.0.1", 0, 16);  // listens, never accepts
  ASSERT_TRUE(silent);
  Recorder recorder;
  LoopThread runner;
  runner.start();
  EpollClientOptions options;
  options.config.timeouts.handshake_timeout = std::chrono::milliseconds(100);
  EpollClient client(runner.loop(), options);
  Result<EpollSessionPtr> session = client.connect(
      "ws://127.0.0.1:" + std::to_string(local_port(silent->get())) + "/", recorder.handler());
  ASSERT_TRUE(session);
  ASSERT_TRUE(eventually([&] { return recorder.close_count() == 1; }, 5s));
  EXPECT_EQ(recorder.closes()[0].error, make_error_code(errc::handshake_timeout));
}

TEST(EpollClient, CloseWhileConnectingCancels) {
  Result<FileDescriptor> silent = listen_tcp("127.0.0.1", 0, 16);
  ASSERT_TRUE(silent);
  Recorder recorder;
  LoopThread runner;
  runner.start();
  EpollClient client(runner.loop());
  Result<EpollSessionPtr> session = client.connect(
      "ws://127.0.0.1:" + std::to_string(local_port(silent->get())) + "/", recorder.handler());
  ASSERT_TRUE(session);
  ASSERT_FALSE((*session)->close());
  ASSERT_TRUE(eventually([&] { return recorder.close_count() == 1; }));
  EXPECT_EQ(recorder.closes()[0].error, std::errc::operation_canceled);
}

TEST(EpollClient, SessionOutlivesItsLoop) {
  EpollSessionPtr kept;
  {
    ClientFixture fixture;
    kept = fixture.connect();
    ASSERT_TRUE(eventually([&] { return fixture.client_recorder.open_count() == 1; }));
  }
  EXPECT_EQ(kept->state(), SessionState::closed);
  EXPECT_EQ(kept->send_text("nobody hears"), make_error_code(errc::not_open));
}

}  // namespace
}  // namespace ws::posix::epoll_test
