// The epoll server over real loopback sockets, seen from a raw peer that
// writes exact bytes: handshake, fragmented input, control frames, close in
// both directions, a vanishing peer, a peer that never reads, adopted
// sockets, timers.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>

#include "epoll_test_support.hpp"

namespace ws::posix::epoll_test {
namespace {

using ws::test::client_frame;
using ws::test::close_payload;
using ws::test::text_of;

TEST(EpollServer, ListensOnAFreePortWhenAskedForPortZero) {
  ServerFixture fixture;
  ASSERT_TRUE(fixture.server.has_value());
  EXPECT_NE(fixture.port(), 0);
}

TEST(EpollServer, AnswersAValidUpgradeWith101AndOpens) {
  ServerFixture fixture;
  RawPeer peer(fixture.port());
  ASSERT_TRUE(peer.handshake("/chat?room=1"));
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  const EpollSessionPtr session = fixture.recorder.session();
  ASSERT_NE(session->request(), nullptr);
  EXPECT_EQ(session->request()->path, "/chat");
  EXPECT_EQ(session->request()->query, "room=1");
  EXPECT_TRUE(session->is_open());
  EXPECT_EQ(session->role(), Role::server);
  EXPECT_EQ(fixture.server->connection_count(), 1u);
}

TEST(EpollServer, RejectsWhatTheApplicationRefuses) {
  EpollServerOptions options;
  options.on_upgrade = [](const UpgradeRequest& request) {
    return request.path == "/chat" ? EpollUpgradeDecision::accept_with()
                                   : EpollUpgradeDecision::reject(404, "no such endpoint");
  };
  ServerFixture fixture(std::move(options));
  RawPeer peer(fixture.port());
  std::vector<HeaderField> fields = ws::test::upgrade_fields();
  ASSERT_TRUE(peer.send(ws::test::head_text("GET /elsewhere HTTP/1.1", fields)));
  EXPECT_EQ(peer.read_head().rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_TRUE(peer.wait_for_eof());  // the server closes after answering
  EXPECT_EQ(fixture.recorder.open_count(), 0u);
  EXPECT_EQ(fixture.recorder.close_count(), 0u);  // the application never saw it
  EXPECT_TRUE(eventually([&] { return fixture.server->connection_count() == 0; }));
}

TEST(EpollServer, Answers400ToAnInvalidUpgrade) {
  ServerFixture fixture;
  RawPeer peer(fixture.port());
  ASSERT_TRUE(peer.send("GET /chat HTTP/1.1\r\nHost: x\r\n\r\n"));  // RFC 6455 4.2.1
  EXPECT_EQ(peer.read_head().rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_TRUE(peer.wait_for_eof());
}

TEST(EpollServer, JoinsFragmentsThatArriveOneByteAtATime) {
  ServerFixture fixture;
  RawPeer peer(fixture.port());
  ASSERT_TRUE(peer.handshake());
  // RFC 6455 5.4: a fragmented message, with a ping between the fragments.
  const Bytes wire = ws::test::concat(
      {client_frame(Opcode::text, "Hel", false), client_frame(Opcode::continuation, "lo", false),
       client_frame(Opcode::ping, "p"), client_frame(Opcode::continuation, " world", true)});
  for (const std::byte b : wire) ASSERT_TRUE(peer.send(ByteView(&b, 1)));

  std::optional<OwnedEvent> pong = peer.next_event();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->type, OwnedEvent::Type::pong);
  EXPECT_EQ(pong->text(), "p");
  std::optional<OwnedEvent> echo = peer.next_event();
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->type, OwnedEvent::Type::message);
  EXPECT_EQ(echo->text(), "Hello world");
  EXPECT_EQ(fixture.recorder.pings(), std::vector<std::string>{"p"});
}

TEST(EpollServer, AnswersPingWithPongAndReportsPongs) {
  ServerFixture fixture;
  RawPeer peer(fixture.port());
  ASSERT_TRUE(peer.handshake());
  ASSERT_TRUE(peer.send_frame(Opcode::ping, "abc"));
  std::optional<OwnedEvent> pong = peer.next_event();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->type, OwnedEvent::Type::pong);  // RFC 6455 5.5.3: same payload
  EXPECT_EQ(pong->text(), "abc");
  ASSERT_TRUE(peer.send_frame(Opcode::pong, "unsolicited"));
  EXPECT_TRUE(eventually([&] { return fixture.recorder.pongs().size() == 1; }));
}

TEST(EpollServer, CompletesACloseTheClientStartsAndClosesTheTransportFirst) {
  ServerFixture fixture;
  RawPeer peer(fixture.port());
  ASSERT_TRUE(peer.handshake());
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  ASSERT_TRUE(peer.send(ws::test::frame({Opcode::close}, close_payload(1000, "bye"))));
  std::optional<OwnedEvent> reply = peer.next_event();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->type, OwnedEvent::Type::closed);
  EXPECT_EQ(reply->code, CloseCode::normal);
  EXPECT_TRUE(peer.wait_for_eof());  // RFC 6455 7.1.1: the server closes TCP first
  ASSERT_TRUE(eventually([&] { return fixture.recorder.close_count() == 1; }));
  const RecordedClose closed = fixture.recorder.closes()[0];
  EXPECT_EQ(closed.code, CloseCode::normal);
  EXPECT_EQ(closed.reason, "bye");
  EXPECT_FALSE(closed.error);
  EXPECT_EQ(fixture.recorder.session()->state(), SessionState::closed);
  EXPECT_TRUE(eventually([&] { return fixture.server->connection_count() == 0; }));
}

TEST(EpollServer, CompletesACloseTheServerStarts) {
  ServerFixture fixture;
  RawPeer peer(fixture.port());
  ASSERT_TRUE(peer.handshake());
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  const EpollSessionPtr session = fixture.recorder.session();
  ASSERT_FALSE(session->close(4000, "done"));
  EXPECT_EQ(session->send_text("too late"), make_error_code(errc::not_open));
  EXPECT_EQ(session->close(), make_error_code(errc::not_open));
  std::optional<OwnedEvent> close = peer.next_event();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->type, OwnedEvent::Type::closed);
  EXPECT_EQ(static_cast<int>(close->code), 4000);
  EXPECT_EQ(close->text(), "done");
  ASSERT_TRUE(peer.send(ws::test::frame({Opcode::close}, close_payload(4000))));
  EXPECT_TRUE(peer.wait_for_eof());
  ASSERT_TRUE(eventually([&] { return fixture.recorder.close_count() == 1; }));
  EXPECT_EQ(static_cast<int>(fixture.recorder.closes()[0].code), 4000);
  EXPECT_FALSE(fixture.recorder.closes()[0].error);
}

TEST(EpollServer, RefusesCloseCodesThatMayNotBeSent) {
  ServerFixture fixture;
  RawPeer peer(fixture.port());
  ASSERT_TRUE(peer.handshake());
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  const EpollSessionPtr session = fixture.recorder.session();
  EXPECT_EQ(session->close(CloseCode::abnormal), make_error_code(errc::close_code_not_sendable));
  EXPECT_EQ(session->close(1000, std::string(124, 'x')),
            make_error_code(errc::close_reason_too_long));
  EXPECT_TRUE(session->is_open());
}

TEST(EpollServer, ReportsAPeerThatVanishesMidFrame) {
  ServerFixture fixture;
  RawPeer peer(fixture.port());
  ASSERT_TRUE(peer.handshake());
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  // A header that announces 1000 bytes, then 10 of them, then nothing.
  Bytes partial = ws::test::frame_header({Opcode::binary}, 1000);
  partial.resize(partial.size() + 10, std::byte{0x55});
  ASSERT_TRUE(peer.send(partial));
  peer.close();
  ASSERT_TRUE(eventually([&] { return fixture.recorder.close_count() == 1; }));
  const RecordedClose closed = fixture.recorder.closes()[0];
  EXPECT_EQ(closed.code, CloseCode::abnormal);  // RFC 6455 7.1.5: 1006, no close frame
  EXPECT_EQ(closed.error, make_error_code(errc::unexpected_eof));
  EXPECT_TRUE(fixture.recorder.messages().empty());
  EXPECT_TRUE(eventually([&] { return fixture.server->connection_count() == 0; }));
}

TEST(EpollServer, ReportsAPeerThatResetsTheConnection) {
  ServerFixture fixture;
  RawPeer peer(fixture.port());
  ASSERT_TRUE(peer.handshake());
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  const linger abort_on_close{1, 0};  // close() sends RST
  ::setsockopt(peer.fd(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  peer.close();
  ASSERT_TRUE(eventually([&] { return fixture.recorder.close_count() == 1; }));
  EXPECT_EQ(fixture.recorder.closes()[0].code, CloseCode::abnormal);
  EXPECT_TRUE(eventually([&] { return fixture.server->connection_count() == 0; }));
}

// Sends from a non-blocking socket until the kernel has taken nothing for
// `stall`; returns the bytes sent.
std::size_t send_until_stalled(int fd, ByteView bytes, std::chrono::milliseconds stall) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
    pollfd waiter{fd, POLLOUT, 0};
    if (::poll(&waiter, 1, static_cast<int>(stall.count())) <= 0) break;
  }
  return sent;
}

TEST(EpollServer, StopsReadingFromAPeerThatNeverReadsSoMemoryStaysBounded) {
  EpollServerOptions options;
  options.backpressure.high_water = 256 * 1024;
  options.backpressure.low_water = 64 * 1024;
  ServerFixture fixture(std::move(options));  // echoes every message
  RawPeer peer(fixture.port());
  const int small = 64 * 1024;
  ::setsockopt(peer.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ASSERT_TRUE(peer.handshake());
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  const EpollSessionPtr session = fixture.recorder.session();

  // 64 MiB of 16 KiB messages: far more than every socket buffer together.
  const std::size_t message_size = 16 * 1024;
  const std::size_t message_count = 4096;
  const Bytes one = client_frame(Opcode::binary, std::string(message_size, 'm'));
  Bytes wire;
  wire.reserve(one.size() * message_count);
  for (std::size_t i = 0; i < message_count; ++i) wire.insert(wire.end(), one.begin(), one.end());
  ::fcntl(peer.fd(), F_SETFL, ::fcntl(peer.fd(), F_GETFL) | O_NONBLOCK);
  const std::size_t sent = send_until_stalled(peer.fd(), wire, 300ms);

  EXPECT_LT(sent, wire.size());  // the server stopped taking input
  ASSERT_TRUE(eventually([&] { return !fixture.recorder.backpressure().empty(); }));
  EXPECT_TRUE(fixture.recorder.backpressure()[0]);
  // Bounded: high water plus what one read can turn into echoes.
  EXPECT_LE(session->backlog_bytes(), 256 * 1024 + 64 * 1024 + 2 * one.size());
  EXPECT_TRUE(session->is_open());

  // The peer reads again: reading resumes and every message comes back.
  const std::size_t whole = (sent + one.size() - 1) / one.size();
  std::size_t sent_total = sent;
  const std::size_t target = whole * one.size();
  std::size_t echoed = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (echoed < whole && std::chrono::steady_clock::now() < deadline) {
    if (sent_total < target) {
      const ssize_t n =
          ::send(peer.fd(), wire.data() + sent_total, target - sent_total, MSG_NOSIGNAL);
      if (n > 0) sent_total += static_cast<std::size_t>(n);
    }
    if (std::optional<OwnedEvent> event = peer.next_event(5ms)) {
      ASSERT_EQ(event->type, OwnedEvent::Type::message);
      ASSERT_EQ(event->payload.size(), message_size);
      ++echoed;
    }
  }
  EXPECT_EQ(echoed, whole);
  // Reading resumed. On a loaded machine the peer may fall behind again
  // while it catches up, so there can be more than one pause; they
  // alternate with resumes, and the last report is a resume.
  ASSERT_TRUE(eventually([&] {
    const auto reports = fixture.recorder.backpressure();
    return reports.size() >= 2 && !reports.back();
  }));
  const auto reports = fixture.recorder.backpressure();
  for (std::size_t i = 0; i < reports.size(); ++i) EXPECT_EQ(reports[i], i % 2 == 0) << i;
}

TEST(EpollServer, SendsKeepalivePingsWhenTheConnectionIsSilent) {
  EpollServerOptions options;
  options.config.timeouts.keepalive_interval = std::chrono::milliseconds(30);
  ServerFixture fixture(std::move(options));
  RawPeer peer(fixture.port());
  ASSERT_TRUE(peer.handshake());
  std::optional<OwnedEvent> ping = peer.next_event(2s);
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->type, OwnedEvent::Type::ping);
}

TEST(EpollServer, ClosesAnIdleConnectionWith1001) {
  EpollServerOptions options;
  options.config.timeouts.idle_timeout = std::chrono::milliseconds(50);
  ServerFixture fixture(std::move(options));
  RawPeer peer(fixture.port());
  ASSERT_TRUE(peer.handshake());
  std::optional<OwnedEvent> close = peer.next_event(2s);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->type, OwnedEvent::Type::closed);
  EXPECT_EQ(close->code, CloseCode::going_away);
  ASSERT_TRUE(eventually([&] { return fixture.recorder.close_count() == 1; }));
  EXPECT_EQ(fixture.recorder.closes()[0].error, make_error_code(errc::idle_timeout));
}

TEST(EpollServer, DropsAPeerThatNeverSendsItsRequest) {
  EpollServerOptions options;
  options.config.timeouts.handshake_timeout = std::chrono::milliseconds(50);
  ServerFixture fixture(std::move(options));
  RawPeer peer(fixture.port());
  ASSERT_TRUE(peer.connected());
  ASSERT_TRUE(eventually([&] { return fixture.server->connection_count() == 1; }));
  EXPECT_TRUE(peer.wait_for_eof(5s));
  EXPECT_TRUE(eventually([&] { return fixture.server->connection_count() == 0; }));
}

// Reads an HTTP head from a blocking socket as an application's own HTTP
// server would; returns the head and the bytes read past it.
std::pair<std::string, std::string> read_request(int fd) {
  std::string data;
  char chunk[4096];
  while (data.find("\r\n\r\n") == std::string::npos) {
    pollfd waiter{fd, POLLIN, 0};
    if (::poll(&waiter, 1, 5000) <= 0) return {};
    const ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
    if (got <= 0) return {};
    data.append(chunk, static_cast<std::size_t>(got));
  }
  const std::size_t end = data.find("\r\n\r\n") + 4;
  return {data.substr(0, end), data.substr(end)};
}

TEST(EpollServer, AdoptsASocketWhoseHeadTheApplicationAlreadyRead) {
  ServerFixture fixture;
  Result<FileDescriptor> front = listen_tcp("127.0.0.1", 0, 16);
  ASSERT_TRUE(front);
  RawPeer peer(local_port(front->get()));
  // The request and a first frame in one write: the frame is read with the head.
  std::vector<HeaderField> fields = ws::test::upgrade_fields();
  const std::string request = ws::test::head_text("GET /front HTTP/1.1", fields);
  ASSERT_TRUE(peer.send(
      ws::test::concat({ws::test::bytes_of(request), client_frame(Opcode::text, "early bird")})));
  Result<FileDescriptor> accepted = accept_tcp(front->get());
  ASSERT_TRUE(accepted);
  const auto [head, rest] = read_request(accepted->get());
  ASSERT_TRUE(is_upgrade(head));

  Result<EpollSessionPtr> session =
      fixture.server->adopt(std::move(*accepted), head, as_bytes(rest));
  ASSERT_TRUE(session) << session.error().message();
  EXPECT_FALSE(accepted->valid());
  EXPECT_EQ((*session)->request()->path, "/front");

  EXPECT_EQ(peer.read_head().rfind("HTTP/1.1 101", 0), 0u);
  ASSERT_TRUE(eventually([&] { return fixture.recorder.message_count() == 1; }));
  EXPECT_EQ(fixture.recorder.messages()[0].text(), "early bird");
}

TEST(EpollServer, AdoptLeavesTheSocketWithTheCallerOnABadHead) {
  ServerFixture fixture;
  Result<FileDescriptor> front = listen_tcp("127.0.0.1", 0, 16);
  ASSERT_TRUE(front);
  RawPeer peer(local_port(front->get()));
  Result<FileDescriptor> accepted = accept_tcp(front->get());
  ASSERT_TRUE(accepted);
  const std::string head = "GET /chat HTTP/1.1\r\nHost: x\r\n\r\n";
  Result<EpollSessionPtr> session = fixture.server->adopt(std::move(*accepted), head, {});
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error(), make_error_code(errc::missing_upgrade_websocket));
  EXPECT_TRUE(accepted->valid());  // still the caller's, to answer build_error_response()
  EXPECT_EQ(fixture.server->connection_count(), 0u);
}

}  // namespace
}  // namespace ws::posix::epoll_test
