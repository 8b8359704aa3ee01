// The adapter contract: what every transport (threads, epoll, ...) does the
// same, because every transport runs on the one driver. Written once; each
// case runs against every entry of all_transports(). Real sockets on
// 127.0.0.1; every timeout in milliseconds.
//
// Cases named *Threads* send from other threads (the ThreadSanitizer tree
// runs those).
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "contract_support.hpp"
#include "posix/blocking_test_support.hpp"
#include "support/frames.hpp"
#include "transport_under_test.hpp"
#include "ws/base/error.hpp"

namespace ws::contract {
namespace {

using namespace std::chrono_literals;
using posix::test::kWait;
using posix::test::pattern_bytes;
using posix::test::RawClient;
using test::Bytes;
using test::client_frame;
using test::OwnedEvent;

class Contract : public ::testing::TestWithParam<TransportEntry> {
 protected:
  void SetUp() override { transport_ = GetParam().make(); }

  std::unique_ptr<ServerUnderTest> serve(ServerOptions options, Handler handler) {
    std::unique_ptr<ServerUnderTest> server = transport_->serve(options, std::move(handler));
    EXPECT_NE(server, nullptr);
    return server;
  }

  /// The stream layer raw clients go through (the TLS variants), or null.
  std::shared_ptr<const StreamLayerFactory> raw_tls() const { return transport_->client_tls(); }

  std::unique_ptr<TransportUnderTest> transport_;
};

// Client and server roles of the same transport; messages of every length
// form (RFC 6455 5.2: 7-bit, 16-bit and 64-bit lengths) up to 16 MiB.
TEST_P(Contract, EchoesMessagesOfEverySizeBetweenItsClientAndServer) {
  auto server_side = std::make_shared<Record>();
  auto server = serve(ServerOptions{}, server_side->handler(/*echo=*/true));
  auto client_side = std::make_shared<Record>();
  ClientOptions client_options;
  client_options.config.limits.max_message_size = 16 * 1024 * 1024;
  transport_->connect(url(server->port()), client_options, client_side->handler(false));
  const SessionPtr client = client_side->session();
  ASSERT_NE(client, nullptr);
  const std::vector<std::size_t> sizes{0,     1,     125,         126,
                                       65535, 65536, 1024 * 1024, 16 * 1024 * 1024 / kSlowdown};
  for (std::size_t size : sizes) ASSERT_FALSE(client->send_binary(pattern_bytes(size)));
  ASSERT_TRUE(client_side->wait([&] { return client_side->message_count() == sizes.size(); }));
  const std::vector<Bytes> echoes = client_side->messages();
  for (std::size_t i = 0; i < sizes.size(); ++i) EXPECT_EQ(echoes[i], pattern_bytes(sizes[i]));
  // Close from the client: both sides hear a clean 1000 once.
  EXPECT_FALSE(client->close(CloseCode::normal));
  const std::optional<Closed> client_closed = client_side->closed();
  ASSERT_TRUE(client_closed.has_value());
  EXPECT_EQ(client_closed->code, CloseCode::normal);
  EXPECT_FALSE(client_closed->error);
  const std::optional<Closed> server_closed = server_side->closed();
  ASSERT_TRUE(server_closed.has_value());
  EXPECT_EQ(server_closed->code, CloseCode::normal);
  EXPECT_TRUE(eventually([&] { return server->connection_count() == 0; }));
  EXPECT_EQ(server_side->close_count(), 1U);
}

// RFC 6455 5.4: fragments are joined; 5.5.2: a ping is answered with a pong
// carrying its payload, also between fragments.
TEST_P(Contract, JoinsFragmentsAndAnswersPings) {
  auto server_side = std::make_shared<Record>();
  auto server = serve(ServerOptions{}, server_side->handler(/*echo=*/true));
  RawClient peer(server->port(), 0, raw_tls());
  ASSERT_EQ(peer.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  peer.send(client_frame(Opcode::text, "frag", /*fin=*/false));
  peer.send(client_frame(Opcode::ping, "are you there"));
  peer.send(client_frame(Opcode::continuation, "ment", false));
  peer.send(client_frame(Opcode::continuation, "ed", true));
  const std::optional<OwnedEvent> pong = peer.next_event();
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(pong->type, OwnedEvent::Type::pong);
  EXPECT_EQ(pong->text(), "are you there");
  const std::optional<OwnedEvent> echo = peer.next_event();
  ASSERT_TRUE(echo.has_value());
  EXPECT_EQ(echo->text(), "fragmented");
}

// RFC 6455 7.1.2: the server starts the close; the client answers.
TEST_P(Contract, ServerCloseReachesTheClientWithItsCode) {
  auto server_side = std::make_shared<Record>();
  auto server = serve(ServerOptions{}, server_side->handler(false));
  auto client_side = std::make_shared<Record>();
  transport_->connect(url(server->port()), ClientOptions{}, client_side->handler(false));
  ASSERT_NE(client_side->session(), nullptr);
  const SessionPtr session = server_side->session();
  ASSERT_NE(session, nullptr);
  EXPECT_FALSE(session->close(4000, "done"));
  const std::optional<Closed> closed = client_side->closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(static_cast<int>(closed->code), 4000);
  EXPECT_FALSE(closed->error);
  EXPECT_TRUE(eventually([&] { return server->connection_count() == 0; }));
}

// Sends from other threads: each thread's messages arrive in its order.
TEST_P(Contract, SendsFromOtherThreadsArriveInEachThreadsOrderThreads) {
  auto server_side = std::make_shared<Record>();
  auto server = serve(ServerOptions{}, server_side->handler(false));
  RawClient peer(server->port(), 0, raw_tls());
  ASSERT_EQ(peer.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  const SessionPtr session = server_side->session();
  ASSERT_NE(session, nullptr);
  constexpr int kThreads = 4;
  constexpr int kEach = 200;
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([session, t] {
      for (int i = 0; i < kEach; ++i) {
        EXPECT_FALSE(session->send_text(std::to_string(t) + ":" + std::to_string(i)));
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  std::vector<int> next(kThreads, 0);
  for (int received = 0; received < kThreads * kEach; ++received) {
    const std::optional<OwnedEvent> event = peer.next_event();
    ASSERT_TRUE(event.has_value()) << "after " << received;
    const std::string text = event->text();
    const int thread = std::stoi(text.substr(0, text.find(':')));
    EXPECT_EQ(std::stoi(text.substr(text.find(':') + 1)), next[static_cast<std::size_t>(thread)]++);
  }
}

// A peer that never reads: the write stall closes it, and the server's
// descriptor and queued bytes go back to what they were.
TEST_P(Contract, PeerThatNeverReadsIsReleasedAfterTheWriteStallThreads) {
  auto server_side = std::make_shared<Record>();
  ServerOptions options;
  options.write_stall_timeout = 200ms;
  options.backpressure.high_water = 64 * 1024 * 1024;  // the stall, not the policy, ends it
  options.backpressure.low_water = 16 * 1024 * 1024;
  auto server = serve(options, server_side->handler(false));
  const std::size_t baseline = open_descriptors();
  std::optional<RawClient> peer;
  peer.emplace(server->port(), /*socket_buffer_bytes=*/4096, raw_tls());
  ASSERT_EQ(peer->handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  const SessionPtr session = server_side->session();
  ASSERT_NE(session, nullptr);
  const Bytes chunk = pattern_bytes(256 * 1024);
  for (int i = 0; i < 32; ++i) ASSERT_FALSE(session->send_binary(chunk));
  const std::optional<Closed> closed = server_side->closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, CloseCode::abnormal);
  EXPECT_EQ(closed->error, std::errc::timed_out);
  EXPECT_TRUE(eventually([&] { return server->connection_count() == 0; }));
  EXPECT_EQ(session->backlog_bytes(), 0U);
  // The peer's own socket is still open here: one above the baseline.
  EXPECT_TRUE(eventually([&] { return open_descriptors() == baseline + 1; }))
      << open_descriptors() << " descriptors, baseline " << baseline;
  peer.reset();
  EXPECT_EQ(open_descriptors(), baseline);
}

// Past high_water the close policy closes with 1013 and the sender is told
// (RFC 6455 7.4.1); every message accepted before that is delivered, in
// order, before the close frame. Nothing is lost silently.
TEST_P(Contract, NoAcceptedMessageIsLostWhenTheBacklogOverflowsThreads) {
  auto server_side = std::make_shared<Record>();
  ServerOptions options;
  options.backpressure.high_water = 256 * 1024;
  options.backpressure.low_water = 64 * 1024;
  auto server = serve(options, server_side->handler(false));
  RawClient peer(server->port(), /*socket_buffer_bytes=*/8192, raw_tls());
  ASSERT_EQ(peer.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  const SessionPtr session = server_side->session();
  ASSERT_NE(session, nullptr);
  const Bytes chunk = pattern_bytes(16 * 1024);
  int accepted = 0;
  std::error_code refused;
  for (int i = 0; i < 1000 && !refused; ++i) {
    refused = session->send_binary(chunk);
    if (!refused) ++accepted;
  }
  EXPECT_EQ(refused, errc::output_queue_full);
  int delivered = 0;
  std::optional<OwnedEvent> event;
  while ((event = peer.next_event()) && event->type == OwnedEvent::Type::message) {
    EXPECT_EQ(event->payload, chunk);
    ++delivered;
  }
  EXPECT_EQ(delivered, accepted);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->type, OwnedEvent::Type::closed);
  EXPECT_EQ(event->code, CloseCode::try_again_later);
}

// Fairness: a peer flooding frames that complete no message (empty
// continuations after an unfinished first fragment) does not keep another
// connection from being served.
TEST_P(Contract, FloodOfFramesCompletingNoMessageDoesNotStarveOthers) {
  auto server_side = std::make_shared<Record>();
  auto server = serve(ServerOptions{}, server_side->handler(/*echo=*/true));
  RawClient flooder(server->port(), 0, raw_tls());
  ASSERT_EQ(flooder.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  std::atomic<bool> stop{false};
  flooder.send(client_frame(Opcode::text, "a", /*fin=*/false));
  std::thread flood([&] {
    Bytes batch;
    const Bytes empty = client_frame(Opcode::continuation, "", false);
    for (int i = 0; i < 10000; ++i) batch.insert(batch.end(), empty.begin(), empty.end());
    std::size_t offset = 0;  // whole frames only: a cut frame would be garbage
    while (!stop) {
      const std::size_t sent = flooder.send_some(ByteView(batch).subspan(offset));
      if (sent > 0) {
        offset = (offset + sent) % batch.size();
      } else {
        std::this_thread::sleep_for(1ms);
      }
    }
  });
  std::this_thread::sleep_for(50ms);  // the flood is on
  const auto started = std::chrono::steady_clock::now();
  RawClient other(server->port(), 0, raw_tls());
  ASSERT_EQ(other.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  other.send(client_frame(Opcode::text, "still here"));
  const std::optional<OwnedEvent> echo = other.next_event();
  const auto took = std::chrono::steady_clock::now() - started;
  stop = true;
  flood.join();
  ASSERT_TRUE(echo.has_value());
  EXPECT_EQ(echo->text(), "still here");
  EXPECT_LT(took, 200ms * kSlowdown)
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
}

// A connection that sends nothing at all, not even a request head, is
// dropped at the handshake timeout.
TEST_P(Contract, SilentConnectionIsClosedAtTheHandshakeTimeout) {
  auto server_side = std::make_shared<Record>();
  ServerOptions options;
  options.config.timeouts.handshake_timeout = 100ms;
  auto server = serve(options, server_side->handler(false));
  RawClient silent(server->port(), 0, raw_tls());
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.wait_for_eof());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_TRUE(eventually([&] { return server->connection_count() == 0; }));
}

// The keepalive: a peer from which nothing arrives, not even the pong, is
// closed with 1001 at the idle timeout.
TEST_P(Contract, DeadPeerIsClosedAtTheKeepaliveTimeout) {
  auto server_side = std::make_shared<Record>();
  ServerOptions options;
  options.config.timeouts.keepalive_interval = 50ms;
  options.config.timeouts.idle_timeout = 200ms;
  auto server = serve(options, server_side->handler(false));
  RawClient dead(server->port(), 0, raw_tls());  // its decoder does not answer pings
  ASSERT_EQ(dead.handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  const std::optional<OwnedEvent> ping = dead.next_event();
  ASSERT_TRUE(ping.has_value());
  EXPECT_EQ(ping->type, OwnedEvent::Type::ping);
  const std::optional<Closed> closed = server_side->closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->error, errc::idle_timeout);
  EXPECT_EQ(closed->sent_code, CloseCode::going_away);
  EXPECT_TRUE(eventually([&] { return server->connection_count() == 0; }));
}

// A peer that resets the connection (RST, no close frame) in the middle of
// a message: the server reports one abnormal close and frees the connection.
TEST_P(Contract, PeerThatResetsIsReportedOnceAndReleased) {
  auto server_side = std::make_shared<Record>();
  auto server = serve(ServerOptions{}, server_side->handler(false));
  std::optional<RawClient> peer;
  peer.emplace(server->port(), 0, raw_tls());
  ASSERT_EQ(peer->handshake().rfind("HTTP/1.1 101 ", 0), 0U);
  ASSERT_NE(server_side->session(), nullptr);
  peer->send(client_frame(Opcode::text, "half a mess", /*fin=*/false));
  const linger reset{1, 0};  // close() then sends RST
  ASSERT_EQ(::setsockopt(peer->fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
  peer.reset();
  const std::optional<Closed> closed = server_side->closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, CloseCode::abnormal);
  EXPECT_TRUE(closed->error);
  EXPECT_TRUE(eventually([&] { return server->connection_count() == 0; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(server_side->close_count(), 1U);
  EXPECT_EQ(server_side->message_count(), 0U);
}

// Graceful shutdown: every connection hears 1001 and the server ends.
TEST_P(Contract, ShutdownClosesEveryConnectionWithGoingAway) {
  auto server_side = std::make_shared<Record>();
  auto server = serve(ServerOptions{}, server_side->handler(false));
  auto client_side = std::make_shared<Record>();
  transport_->connect(url(server->port()), ClientOptions{}, client_side->handler(false));
  ASSERT_NE(client_side->session(), nullptr);
  ASSERT_NE(server_side->session(), nullptr);
  server->shutdown(1s);
  const std::optional<Closed> closed = client_side->closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, CloseCode::going_away);
  EXPECT_EQ(server->connection_count(), 0U);
}

INSTANTIATE_TEST_SUITE_P(Transports, Contract, ::testing::ValuesIn(all_transports()),
                         [](const ::testing::TestParamInfo<TransportEntry>& entry) {
                           return entry.param.name;
                         });

}  // namespace
}  // namespace ws::contract
