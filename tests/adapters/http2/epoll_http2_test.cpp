// HTTP/2 over real sockets on the epoll transport: an EpollServer with
// ws::http2's server protocols and an EpollClient whose one socket carries
// several WebSockets (connect_socket with ws::http2::ClientConnection),
// plain and over TLS (ALPN h2), and HTTP/1.1 still served on the same port.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "posix/epoll_test_support.hpp"
#include "tls/test_layers.hpp"
#include "ws/http2/client.hpp"
#include "ws/http2/server.hpp"
#include "ws/posix/epoll_client.hpp"
#include "ws/posix/epoll_server.hpp"

namespace ws {
namespace {

using namespace std::chrono_literals;
using posix::epoll_test::eventually;
using posix::epoll_test::LoopThread;

struct Seen {
  std::mutex mutex;
  std::vector<std::string> messages;
  int opened = 0;
  int closed = 0;
  std::atomic<int> extended_connects{0};
  std::atomic<std::uint64_t> connection{0};
  std::atomic<bool> one_connection{true};
};

class EpollHttp2 : public ::testing::TestWithParam<bool> {
 protected:
  bool tls() const { return GetParam(); }

  void start_server() {
    posix::EpollServerOptions options;
    options.join_path_channel = false;
    http2::ServerSettings settings;
    Seen* seen = &server_seen_;
    settings.on_request = [seen](const http2::RequestSeen& request) {
      if (request.method == "CONNECT") ++seen->extended_connects;
      std::uint64_t expected = 0;
      if (!seen->connection.compare_exchange_strong(expected, request.connection) &&
          expected != request.connection) {
        seen->one_connection = false;
      }
    };
    options.socket_driver = http2::server_protocols(std::move(settings));
    if (tls()) options.stream_layer = test::tls::test_server_layer({"h2", "http/1.1"});
    Handler echo;
    echo.on_message = [](const SessionPtr& session, const Message& message) {
      (void)session->send_text(message.text());
    };
    server_.emplace(std::move(*posix::EpollServer::listen(loop_.loop(), options, echo)));
    loop_.start();
  }

  std::string url(std::string_view path) const {
    return std::string(tls() ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(server_->port()) +
           std::string(path);
  }

  LoopThread loop_;
  std::optional<posix::EpollServer> server_;
  Seen server_seen_;
};

TEST_P(EpollHttp2, ThreeWebSocketsOnOneSocketEcho) {
  start_server();
  LoopThread client_loop;
  posix::EpollClientOptions options;
  if (tls()) options.stream_layer = test::tls::test_client_layer({"h2"});
  posix::EpollClient client(client_loop.loop(), options);
  Seen seen;
  Handler handler;
  handler.on_open = [&seen](const SessionPtr&) {
    std::lock_guard lock(seen.mutex);
    ++seen.opened;
  };
  handler.on_message = [&seen](const SessionPtr&, const Message& message) {
    std::lock_guard lock(seen.mutex);
    seen.messages.emplace_back(message.text());
  };
  handler.on_close = [&seen](const SessionPtr&, const Closed&) {
    std::lock_guard lock(seen.mutex);
    ++seen.closed;
  };
  std::vector<SessionPtr> sessions;
  const std::error_code error = client.connect_socket(
      url("/first"), handler,
      [&](SocketDriverContext context) -> Result<std::unique_ptr<SocketDriver>> {
        Result<std::unique_ptr<http2::ClientConnection>> connection =
            http2::ClientConnection::make(std::move(context));
        if (!connection) return connection.error();
        for (const char* path : {"/first", "/second", "/third"}) {
          sessions.push_back(*(*connection)->open(url(path)));
        }
        return std::unique_ptr<SocketDriver>(std::move(*connection));
      });
  ASSERT_FALSE(error) << error.message();
  client_loop.start();
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    (void)sessions[i]->send_text("message " + std::to_string(i));
  }
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(seen.mutex);
    return seen.messages.size() == 3;
  }));
  EXPECT_EQ(server_seen_.extended_connects.load(), 3);
  EXPECT_TRUE(server_seen_.one_connection.load());  // all three on one socket
  EXPECT_EQ(server_->connection_count(), 1u);
  for (const SessionPtr& session : sessions) (void)session->close(CloseCode::normal);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(seen.mutex);
    return seen.closed == 3;
  }));
  // The client ended its idle connection; the server lets it go.
  EXPECT_TRUE(eventually([&] { return server_->connection_count() == 0; }));
}

// The same port still speaks HTTP/1.1 to a client that does not ask for h2.
TEST_P(EpollHttp2, Http11ClientsAreServedOnTheSamePort) {
  start_server();
  LoopThread client_loop;
  posix::EpollClientOptions options;
  if (tls()) options.stream_layer = test::tls::test_client_layer({"http/1.1"});
  posix::EpollClient client(client_loop.loop(), options);
  std::mutex mutex;
  std::string got;
  Handler handler;
  handler.on_message = [&](const SessionPtr&, const Message& message) {
    std::lock_guard lock(mutex);
    got = std::string(message.text());
  };
  Result<SessionPtr> session = client.connect(url("/h1"), handler);
  ASSERT_TRUE(session);
  client_loop.start();
  (void)(*session)->send_text("over HTTP/1.1");
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return got == "over HTTP/1.1";
  }));
  EXPECT_EQ(server_seen_.extended_connects.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, EpollHttp2, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? std::string("tls") : std::string("h2c");
                         });

}  // namespace
}  // namespace ws
