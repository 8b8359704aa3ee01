// Every client transport through ClientOptions::route against a hostile
// proxy on loopback (an in-test thread): one that refuses (407), one that
// accepts and never answers, one that answers garbage, one that resets.
// Each ends in on_close (and the blocking connect's result) with a named
// error within the handshake timeout: never a hang, never a silent direct
// connect (the fake proxy counts the connections it took).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "ws/base/error.hpp"
#include "ws/posix/blocking.hpp"
#include "ws/posix/epoll_client.hpp"
#include "ws/posix/epoll_loop.hpp"
#include "ws/posix/socket.hpp"
#include "ws/proxy/error.hpp"
#include "ws/proxy/route.hpp"
#if __has_include("ws/uring/uring_client.hpp")
#include "ws/uring/support.hpp"
#include "ws/uring/uring_client.hpp"
#include "ws/uring/uring_loop.hpp"
#define WS_TEST_HAVE_URING 1
#endif
#if __has_include("ws/asio/client.hpp")
#include <asio/io_context.hpp>

#include "ws/asio/client.hpp"
#define WS_TEST_HAVE_ASIO 1
#endif

namespace ws::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

enum class Behaviour { refuse, stall, garbage, reset };

// Accepts one connection, reads the client's first bytes, then behaves.
class FakeProxy {
 public:
  explicit FakeProxy(Behaviour behaviour) : behaviour_(behaviour) {
    Result<posix::FileDescriptor> listener = posix::listen_tcp("127.0.0.1", 0, 4);
    EXPECT_TRUE(listener.has_value());
    listener_ = std::move(*listener);
    port_ = posix::local_port(listener_.get());
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeProxy() {
    done_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);
    if (client_ >= 0) ::shutdown(client_, SHUT_RDWR);
    thread_.join();
    if (client_ >= 0) ::close(client_);
  }
  FakeProxy(const FakeProxy&) = delete;
  FakeProxy& operator=(const FakeProxy&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  int accepted() const noexcept { return accepted_; }
  std::string request() const {
    while (!request_seen_ && !done_) std::this_thread::sleep_for(1ms);
    return request_;
  }

 private:
  void serve() {
    const int fd = ::accept(listener_.get(), nullptr, nullptr);
    if (fd < 0) return;
    client_ = fd;
    ++accepted_;
    char buffer[1024];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) request_.assign(buffer, static_cast<std::size_t>(n));
    request_seen_ = true;
    switch (behaviour_) {
      case Behaviour::refuse: {
        const std::string_view answer =
            "HTTP/1.0 407 Proxy Authentication Required\r\n"
            "Proxy-Authenticate: Basic realm=\"test\"\r\n\r\n";
        (void)!::write(fd, answer.data(), answer.size());
        break;
      }
      case Behaviour::stall:
        break;  // says nothing; the client's timeout ends it
      case Behaviour::garbage: {
        const std::string_view answer = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
        (void)!::write(fd, answer.data(), answer.size());
        break;
      }
      case Behaviour::reset: {
        const linger abort{1, 0};  // close() sends RST
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
        client_ = -1;
        ::close(fd);
        return;
      }
    }
    // Holds the connection until the client leaves or the test ends.
    while (!done_ && ::read(fd, buffer, sizeof buffer) > 0) {
    }
  }

  Behaviour behaviour_;
  posix::FileDescriptor listener_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> client_{-1};
  std::atomic<int> accepted_{0};
  std::atomic<bool> request_seen_{false};
  std::atomic<bool> done_{false};
  std::string request_;
};

struct Ending {
  std::optional<Closed> closed;
  std::string reason;
  std::error_code returned;  // the blocking connect's result
  Clock::duration took{};
  int opens = 0;
};

ClientOptions options_for(std::uint16_t proxy_port) {
  ProxySettings proxy;
  proxy.kind = ProxyKind::http;
  proxy.host = "127.0.0.1";
  proxy.port = proxy_port;
  ClientOptions options;
  options.route = route(proxy);
  options.config.timeouts.handshake_timeout = 500ms;
  return options;
}

Handler recording(Ending& ending, std::function<void()> stop) {
  Handler handler;
  handler.on_open = [&ending](const SessionPtr&) { ++ending.opens; };
  handler.on_close = [&ending, stop](const SessionPtr&, const Closed& closed) {
    ending.closed = closed;
    ending.reason = std::string(closed.reason);
    stop();
  };
  return handler;
}

// The target is a port nobody listens on: only the proxy can answer.
constexpr const char* target = "ws://127.0.0.1:9/chat";

Ending through_epoll(std::uint16_t proxy_port) {
  Ending ending;
  posix::EpollLoop loop;
  posix::EpollClient client(loop, options_for(proxy_port));
  const auto start = Clock::now();
  Result<SessionPtr> session = client.connect(target, recording(ending, [&] { loop.stop(); }));
  EXPECT_TRUE(session.has_value());
  EXPECT_FALSE(loop.run());
  ending.took = Clock::now() - start;
  return ending;
}

Ending through_threads(std::uint16_t proxy_port) {
  Ending ending;
  const auto start = Clock::now();
  posix::BlockingClientOptions options;
  static_cast<ClientOptions&>(options) = options_for(proxy_port);
  // The blocking client calls on_close only after on_open; on_failed sees
  // the Closed of a connection that never opened.
  options.on_failed = [&ending](const Closed& closed) {
    ending.closed = closed;
    ending.reason = std::string(closed.reason);
  };
  ending.returned = posix::connect(target, recording(ending, [] {}), options);
  ending.took = Clock::now() - start;
  return ending;
}

#if WS_TEST_HAVE_URING
Ending through_uring(std::uint16_t proxy_port) {
  Ending ending;
  uring::UringLoop loop;
  EXPECT_FALSE(loop.creation_error()) << loop.creation_message();
  uring::UringClient client(loop, options_for(proxy_port));
  const auto start = Clock::now();
  Result<SessionPtr> session = client.connect(target, recording(ending, [&] { loop.stop(); }));
  EXPECT_TRUE(session.has_value());
  EXPECT_FALSE(loop.run());
  ending.took = Clock::now() - start;
  return ending;
}
#endif

#if WS_TEST_HAVE_ASIO
Ending through_asio(std::uint16_t proxy_port) {
  Ending ending;
  ::asio::io_context io;
  const auto start = Clock::now();
  Result<SessionPtr> session =
      asio::connect(io, target, recording(ending, [&] { io.stop(); }), options_for(proxy_port));
  EXPECT_TRUE(session.has_value());
  io.run();
  ending.took = Clock::now() - start;
  return ending;
}
#endif

using Connect = Ending (*)(std::uint16_t);

class ThroughAHostileProxy : public ::testing::TestWithParam<const char*> {
 protected:
  Ending run(FakeProxy& proxy) {
    const std::string mode = GetParam();
    if (mode == "epoll") return through_epoll(proxy.port());
    if (mode == "threads") return through_threads(proxy.port());
#if WS_TEST_HAVE_URING
    if (mode == "uring") return through_uring(proxy.port());
#endif
#if WS_TEST_HAVE_ASIO
    if (mode == "asio") return through_asio(proxy.port());
#endif
    ADD_FAILURE() << "unknown mode " << mode;
    return {};
  }

  static void expect_ended(const Ending& ending, std::error_code expected) {
    ASSERT_TRUE(ending.closed.has_value());
    EXPECT_EQ(ending.closed->error, expected) << ending.closed->error.message();
    EXPECT_EQ(ending.opens, 0);
    // Well inside the handshake timeout except for the stall, which is it.
    EXPECT_LT(ending.took, 3s);
  }
};

void skip_without_uring(const std::string& mode) {
#if WS_TEST_HAVE_URING
  if (mode == "uring" && !uring::probe()) GTEST_SKIP() << uring::probe().message;
#else
  if (mode == "uring") GTEST_SKIP() << "built without io_uring";
#endif
#if !WS_TEST_HAVE_ASIO
  if (mode == "asio") GTEST_SKIP() << "built without ws::asio";
#endif
}

// Issue 20: a refusal is a named error carrying what the proxy said.
TEST_P(ThroughAHostileProxy, ARefusalEndsWithTheProxysErrorAndWhatItSaid) {
  skip_without_uring(GetParam());
  if (::testing::Test::IsSkipped()) return;
  FakeProxy proxy(Behaviour::refuse);
  const Ending ending = run(proxy);
  expect_ended(ending, errc::authentication_required);
  EXPECT_EQ(ending.reason, "HTTP/1.0 407 Proxy Authentication Required");
  EXPECT_EQ(proxy.accepted(), 1);
  EXPECT_EQ(proxy.request().rfind("CONNECT 127.0.0.1:9 HTTP/1.1\r\n", 0), 0U) << proxy.request();
  if (std::string(GetParam()) == "threads") {
    EXPECT_EQ(ending.returned, errc::authentication_required);
  }
}

// A proxy that accepts and never answers: the handshake timeout ends it.
TEST_P(ThroughAHostileProxy, AProxyThatNeverAnswersTimesOutWithTheHandshake) {
  skip_without_uring(GetParam());
  if (::testing::Test::IsSkipped()) return;
  FakeProxy proxy(Behaviour::stall);
  const Ending ending = run(proxy);
  expect_ended(ending, ws::errc::handshake_timeout);
  EXPECT_GE(ending.took, 400ms);
  EXPECT_EQ(proxy.accepted(), 1);
}

TEST_P(ThroughAHostileProxy, GarbageIsAMalformedReply) {
  skip_without_uring(GetParam());
  if (::testing::Test::IsSkipped()) return;
  FakeProxy proxy(Behaviour::garbage);
  const Ending ending = run(proxy);
  expect_ended(ending, errc::malformed_reply);
  EXPECT_EQ(proxy.accepted(), 1);
}

// A reset before the answer ends it at once, not at the timeout. The
// Driver reports a transport error as the end of the stream it is
// (errc::unexpected_eof), as for any connection; a plain end of stream in
// the tunnel's handshake is the tunnel's errc::eof_in_handshake.
TEST_P(ThroughAHostileProxy, AResetEndsItAtOnce) {
  skip_without_uring(GetParam());
  if (::testing::Test::IsSkipped()) return;
  FakeProxy proxy(Behaviour::reset);
  const Ending ending = run(proxy);
  ASSERT_TRUE(ending.closed.has_value());
  const std::error_code error = ending.closed->error;
  EXPECT_TRUE(error == ws::errc::unexpected_eof || error == errc::eof_in_handshake)
      << error.message();
  EXPECT_EQ(ending.opens, 0);
  EXPECT_LT(ending.took, 400ms);
  EXPECT_EQ(proxy.accepted(), 1);
}

INSTANTIATE_TEST_SUITE_P(Transports, ThroughAHostileProxy,
                         ::testing::Values("threads", "epoll", "uring", "asio"));

}  // namespace
}  // namespace ws::proxy
