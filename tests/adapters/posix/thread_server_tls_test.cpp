// ThreadServer over TLS at its thread bound. A thread-per-connection server
// gives each connection its thread before the TLS handshake, so stalled
// handshakes hold threads until the handshake timeout. Past max_threads a
// TLS client cannot be told "503" (it could not read it before a TLS
// handshake, which would need the thread): its connection is closed at
// once, counted, and the server serves again when a thread is free.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "blocking_test_support.hpp"
#include "tls/test_certificates.hpp"
#include "tls/test_layers.hpp"
#include "ws/posix/thread_server.hpp"

namespace ws::posix::test {
namespace {

using Clock = std::chrono::steady_clock;

BlockingCallbacks echo_handler() {
  BlockingCallbacks echo;
  echo.message = [](const BlockingSessionPtr& session, const Message& message) {
    (void)session->send_text(message.text());
  };
  return echo;
}

TEST(ThreadServerTlsThreads, PastMaxThreadsATlsClientIsClosedAtOnceAndServedWhenAThreadIsFree) {
  BlockingCallbacks echo = echo_handler();
  ThreadServerOptions options;
  options.max_threads = 2;
  options.stream_layer = ws::test::tls::test_server_layer();
  options.config.timeouts.handshake_timeout = 300ms;
  Result<ThreadServer> server = ThreadServer::listen(options, echo);
  ASSERT_TRUE(server.has_value()) << server.error().message();
  const auto tls = ws::test::tls::test_client_layer();

  // Two peers start a TLS handshake and stall: they hold both threads.
  Result<std::unique_ptr<StreamLayer>> hello_layer = tls->make(Role::client, "127.0.0.1");
  ASSERT_TRUE(hello_layer.has_value());
  const OutputBuffer hello = (*hello_layer)->pending_wire()[0];
  std::vector<FileDescriptor> stalled;
  for (int i = 0; i < 2; ++i) {
    Result<FileDescriptor> socket = connect_tcp("127.0.0.1", server->port());
    ASSERT_TRUE(socket.has_value());
    ASSERT_FALSE(write_all(socket->get(), hello.data, hello.size / 2));
    stalled.push_back(std::move(*socket));
  }
  ASSERT_TRUE([&] {
    for (int i = 0; i < 200 && server->stats().live_threads < 2; ++i) {
      std::this_thread::sleep_for(5ms);
    }
    return server->stats().live_threads == 2;
  }());

  // A third: closed at once, no plaintext answer inside its TLS stream.
  {
    const auto started = Clock::now();
    Result<FileDescriptor> third = connect_tcp("127.0.0.1", server->port());
    ASSERT_TRUE(third.has_value());
    const timeval limit{2, 0};  // a hung server fails the test, not the run
    ::setsockopt(third->get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    (void)write_all(third->get(), hello.data, hello.size);  // may meet the close
    char answer[512];
    ssize_t got = 0;
    do {
      got = ::recv(third->get(), answer, sizeof answer, 0);
    } while (got < 0 && errno == EINTR);
    EXPECT_TRUE(got == 0 || (got < 0 && errno == ECONNRESET)) << got << " bytes came back";
    EXPECT_LT(Clock::now() - started, 200ms);  // not a timeout on either side
    EXPECT_EQ(server->stats().refused_threads, 1U);
  }

  // At the handshake timeout the stalled ones go, and TLS clients are
  // served again.
  std::this_thread::sleep_for(400ms);
  RawClient fourth(server->port(), 0, tls);
  ASSERT_EQ(fourth.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  fourth.send(ws::test::client_frame(Opcode::text, "served again"));
  const std::optional<OwnedEvent> echoed = fourth.next_event();
  ASSERT_TRUE(echoed.has_value());
  EXPECT_EQ(echoed->text(), "served again");
}

}  // namespace
}  // namespace ws::posix::test
