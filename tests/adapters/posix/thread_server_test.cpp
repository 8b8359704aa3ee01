// ThreadServer: the library's thread-per-connection server. Echo through
// it, a silent connection dropped at the handshake timeout (with and
// without on_http), plain HTTP on the same port, the max_threads bound
// answered with 503 and counted, and a graceful shutdown. Real sockets on
// 127.0.0.1; the connections run on threads of their own, hence "Threads".
#include "ws/posix/thread_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "blocking_test_support.hpp"

namespace ws::posix::test {
namespace {

using Type = OwnedEvent::Type;
using Clock = std::chrono::steady_clock;

bool starts_with(const std::string& text, std::string_view prefix) {
  return text.rfind(prefix, 0) == 0;
}

/// Waits until `done()` holds, for at most `wait`.
template <class Done>
bool eventually(Done done, std::chrono::milliseconds wait = 3s) {
  const auto deadline = Clock::now() + wait;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

/// An echo handler safe for several connection threads.
BlockingCallbacks echo_handler() {
  BlockingCallbacks echo;
  echo.message = [](const BlockingSessionPtr& session, const Message& message) {
    if (message.kind == MessageKind::text) {
      (void)session->send_text(message.text());
    } else {
      (void)session->send_binary(message.payload);
    }
  };
  return echo;
}

void expect_echo(RawClient& client, std::string_view text) {
  client.send(ws::test::client_frame(Opcode::text, text));
  const std::optional<OwnedEvent> echoed = client.next_event();
  ASSERT_TRUE(echoed.has_value());
  EXPECT_EQ(echoed->type, Type::message);
  EXPECT_EQ(echoed->text(), text);
}

/// Connects, sends nothing, and measures how long until the server ends
/// the stream.
std::chrono::milliseconds time_until_dropped(std::uint16_t port) {
  RawClient silent(port);
  const auto start = Clock::now();
  EXPECT_TRUE(silent.wait_for_eof());
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

TEST(ThreadServerThreads, EchoesAndDropsASilentConnectionAtTheHandshakeTimeout) {
  BlockingCallbacks echo = echo_handler();
  ThreadServerOptions options;
  options.config.timeouts.handshake_timeout = 100ms;
  Result<ThreadServer> server = ThreadServer::listen(options, echo);
  ASSERT_TRUE(server.has_value()) << server.error().message();

  RawClient client(server->port());
  ASSERT_TRUE(starts_with(client.handshake(), "HTTP/1.1 101 "));
  expect_echo(client, "hello");
  expect_echo(client, "again");

  const std::chrono::milliseconds dropped_after = time_until_dropped(server->port());
  EXPECT_GE(dropped_after, 80ms);
  EXPECT_LT(dropped_after, 1000ms);
  expect_echo(client, "still here");  // the open connection is unaffected
  EXPECT_EQ(server->stats().accepted, 2U);
  EXPECT_EQ(server->stats().refused_threads, 0U);
}

TEST(ThreadServerThreads, OnHttpAnswersPlainRequestsAndKeepsTheHandshakeTimeout) {
  BlockingCallbacks echo = echo_handler();
  ThreadServerOptions options;
  options.config.timeouts.handshake_timeout = 100ms;
  options.on_http = [](const HttpHead& head) {
    return HttpAnswer{200, "page for " + std::string(head.target) + "\n", {}};
  };
  Result<ThreadServer> server = ThreadServer::listen(options, echo);
  ASSERT_TRUE(server.has_value()) << server.error().message();

  RawClient browser(server->port());
  browser.send(std::string_view("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string answer = browser.read_response_head();
  EXPECT_TRUE(starts_with(answer, "HTTP/1.1 200 ")) << answer;
  EXPECT_TRUE(browser.wait_for_eof());

  RawClient client(server->port());
  ASSERT_TRUE(starts_with(client.handshake(), "HTTP/1.1 101 "));
  expect_echo(client, "through the head read by the server");

  // The head is read by the server's own code here; the timeout holds all
  // the same, counted from the accept.
  const std::chrono::milliseconds dropped_after = time_until_dropped(server->port());
  EXPECT_GE(dropped_after, 80ms);
  EXPECT_LT(dropped_after, 1000ms);

  // A head that trickles in is bounded by the same deadline.
  RawClient slow(server->port());
  const auto start = Clock::now();
  slow.send(std::string_view("GET / HTTP/1.1\r\n"));
  std::this_thread::sleep_for(50ms);
  slow.send(std::string_view("Host: x\r\n"));
  EXPECT_TRUE(slow.wait_for_eof());
  EXPECT_LT(Clock::now() - start, 1000ms);
}

TEST(ThreadServerThreads, PastMaxThreadsAnswers503AndServesAgainWhenOneEnds) {
  BlockingCallbacks echo = echo_handler();
  ThreadServerOptions options;
  options.max_threads = 2;
  Result<ThreadServer> server = ThreadServer::listen(options, echo);
  ASSERT_TRUE(server.has_value()) << server.error().message();

  auto first = std::make_unique<RawClient>(server->port());
  RawClient second(server->port());
  ASSERT_TRUE(starts_with(first->handshake(), "HTTP/1.1 101 "));
  ASSERT_TRUE(starts_with(second.handshake(), "HTTP/1.1 101 "));
  EXPECT_EQ(server->stats().live_threads, 2U);

  RawClient third(server->port());
  third.send(ws::test::valid_upgrade_request());
  const std::string refused = third.read_response_head();
  EXPECT_TRUE(starts_with(refused, "HTTP/1.1 503 ")) << refused;
  EXPECT_NE(refused.find("Connection: close"), std::string::npos) << refused;
  EXPECT_TRUE(third.wait_for_eof());
  EXPECT_EQ(server->stats().refused_threads, 1U);
  EXPECT_EQ(server->stats().thread_failures, 0U);

  // The held connections are still served.
  expect_echo(second, "unaffected");

  first->close_socket();
  ASSERT_TRUE(eventually([&] { return server->stats().live_threads == 1; }));
  RawClient fourth(server->port());
  ASSERT_TRUE(starts_with(fourth.handshake(), "HTTP/1.1 101 "));
  expect_echo(fourth, "served again");
  EXPECT_EQ(server->stats().refused_threads, 1U);
}

TEST(ThreadServerThreads, ShutdownClosesWith1001AndEndsHandshakesInProgress) {
  BlockingCallbacks echo = echo_handler();
  ThreadServerOptions options;  // handshake timeout: the default 10 s
  Result<ThreadServer> server = ThreadServer::listen(options, echo);
  ASSERT_TRUE(server.has_value()) << server.error().message();

  RawClient open(server->port());
  ASSERT_TRUE(starts_with(open.handshake(), "HTTP/1.1 101 "));
  RawClient silent(server->port());
  ASSERT_TRUE(eventually([&] { return server->stats().live_threads == 2; }));

  const auto start = Clock::now();
  std::future<std::size_t> unclean =
      std::async(std::launch::async, [&] { return server->shutdown(2s); });
  const std::optional<OwnedEvent> close = open.next_event();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->type, Type::closed);
  EXPECT_EQ(close->code, CloseCode::going_away);
  open.send_decoder_output();
  EXPECT_TRUE(silent.wait_for_eof());
  EXPECT_EQ(unclean.get(), 0U);
  EXPECT_LT(Clock::now() - start, 1500ms);
  EXPECT_EQ(server->stats().live_threads, 0U);
  EXPECT_EQ(server->shutdown(2s), 0U);  // once only

  // No longer accepting.
  Result<FileDescriptor> late = connect_tcp("127.0.0.1", server->port());
  EXPECT_FALSE(late.has_value());
}

TEST(ThreadServerThreads, DestructorEndsEveryConnectionThread) {
  auto echo = std::make_shared<BlockingCallbacks>(echo_handler());
  std::weak_ptr<BlockingCallbacks> watched = echo;
  std::vector<std::unique_ptr<RawClient>> clients;
  {
    ThreadServerOptions options;
    options.shutdown_timeout = 300ms;
    Result<ThreadServer> server = ThreadServer::listen(options, std::move(echo));
    ASSERT_TRUE(server.has_value()) << server.error().message();
    for (int i = 0; i < 3; ++i) {
      clients.push_back(std::make_unique<RawClient>(server->port()));
      ASSERT_TRUE(starts_with(clients.back()->handshake(), "HTTP/1.1 101 "));
    }
    clients.push_back(std::make_unique<RawClient>(server->port()));  // silent
    ASSERT_TRUE(eventually([&] { return server->stats().live_threads == 4; }));
    // Nobody answers the 1001: the destructor aborts them after 300 ms.
  }
  // Every thread has let go of the shared handler.
  EXPECT_TRUE(eventually([&] { return watched.expired(); }, 1s));
  for (auto& client : clients) EXPECT_TRUE(client->wait_for_eof());
}

}  // namespace
}  // namespace ws::posix::test
