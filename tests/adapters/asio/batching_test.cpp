// A read loop that answers from its own handlers: operations it starts there
// run without a trip through the executor, its Session sends go straight
// into the Connection, and the answers to everything already read leave in
// one gathered write, in order, behind what other code queued first.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "loopback.hpp"
#include "support/frames.hpp"
#include "ws/asio/stream.hpp"

namespace {

using namespace ws::asio::test;
using ws::MessageKind;
using ws::Opcode;
using ws::asio::StreamOptions;
using ws::asio::TcpStream;

// An echo read loop on `stream`: each message is answered through the
// Session with "echo <payload>"; `ended` gets the error that stopped it.
struct EchoLoop {
  TcpStream& stream;
  std::string buffer;
  std::optional<std::error_code> ended;
  std::vector<std::error_code> sent;

  void next() {
    stream.async_read(buffer, [this](std::error_code error, MessageKind) {
      if (error) {
        ended = error;
        return;
      }
      sent.push_back(stream.session()->send_text("echo " + buffer));
      next();
    });
  }
};

struct RawServerPeer {
  ::asio::io_context& io;
  TcpStream server;
  tcp::socket client;
  Bytes received;
};

RawServerPeer accepted_raw_peer(::asio::io_context& io, StreamOptions options = {}) {
  SocketPair sockets = connect_pair(io);
  RawServerPeer peer{
      io, TcpStream(std::move(sockets.server), std::move(options)), std::move(sockets.client), {}};
  std::optional<std::error_code> accepted;
  peer.server.async_accept([&](std::error_code error) { accepted = error; });
  std::string extra;
  raw_client_handshake(io, peer.client, extra);
  EXPECT_TRUE(run_until(io, [&] { return accepted.has_value(); }));
  EXPECT_EQ(accepted.value_or(std::error_code{}), std::error_code{});
  peer.received = ws::test::bytes_of(extra);
  return peer;
}

TEST(AsioBatching, ReadLoopAnswersPipelinedMessagesInOrderWithFewHandlerRuns) {
  ::asio::io_context io;
  RawServerPeer peer = accepted_raw_peer(io);
  EchoLoop loop{peer.server, {}, std::nullopt, {}};
  loop.next();
  io.restart();
  io.poll();  // the read waits for the socket now

  // 100 messages in one write: they arrive together and are answered by
  // handlers run inline, not one executor round trip (or two) per message.
  constexpr int kMessages = 100;
  std::string burst;
  for (int i = 0; i < kMessages; ++i) {
    burst += ws::test::text_of(ws::test::client_frame(Opcode::text, "m" + std::to_string(i)));
  }
  std::optional<std::error_code> written;
  ::asio::async_write(peer.client, ::asio::buffer(burst),
                      [&](std::error_code error, std::size_t) { written = error; });
  int handler_runs = 0;
  io.restart();
  const auto give_up = std::chrono::steady_clock::now() + kTestDeadline;
  while (loop.sent.size() < static_cast<std::size_t>(kMessages) &&
         std::chrono::steady_clock::now() < give_up) {
    handler_runs += static_cast<int>(io.run_one_for(std::chrono::milliseconds(100)));
  }
  ASSERT_EQ(loop.sent.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(written.value_or(std::error_code{}), std::error_code{});
  // The old posting path took at least two runs per message.
  EXPECT_LT(handler_runs, kMessages / 2);
  for (const std::error_code& sent : loop.sent) EXPECT_EQ(sent, std::error_code{});

  const std::vector<ws::test::ParsedFrame> frames =
      raw_read_frames(io, peer.client, peer.received, kMessages);
  ASSERT_EQ(frames.size(), static_cast<std::size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_EQ(ws::test::text_of(frames[static_cast<std::size_t>(i)].payload),
              "echo m" + std::to_string(i));
  }
}

TEST(AsioBatching, HandlerSendsGoOutBehindWhatWasQueuedBefore) {
  ::asio::io_context io;
  RawServerPeer peer = accepted_raw_peer(io);
  // Not inside a handler: this one is queued (and a pump is posted).
  ASSERT_EQ(peer.server.session()->send_text("queued"), std::error_code{});
  EchoLoop loop{peer.server, {}, std::nullopt, {}};
  loop.next();
  raw_write(io, peer.client, ws::test::text_of(ws::test::client_frame(Opcode::text, "x")));
  const std::vector<ws::test::ParsedFrame> frames =
      raw_read_frames(io, peer.client, peer.received, 2);
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(ws::test::text_of(frames[0].payload), "queued");
  EXPECT_EQ(ws::test::text_of(frames[1].payload), "echo x");
}

// Past Limits::max_queued_output a send from the stream's own handler is
// refused (errc::output_queue_full) and the slow-subscriber policy applies, as for messages
// from other threads: by default the connection closes with 1013 (issue 15:
// it used to be dropped and counted while the connection went on).
TEST(AsioBatching, HandlerSendPastTheOutputLimitFailsAndClosesWith1013) {
  ::asio::io_context io;
  StreamOptions options;
  options.config.limits.max_queued_output = 64;
  RawServerPeer peer = accepted_raw_peer(io, options);
  std::optional<std::error_code> big_sent;
  std::optional<std::error_code> small_sent;
  std::string buffer;
  peer.server.async_read(buffer, [&](std::error_code error, MessageKind) {
    ASSERT_FALSE(error);
    big_sent = peer.server.session()->send_text(std::string(1024, 'b'));
    small_sent = peer.server.session()->send_text("s");  // nothing slips in after it
  });
  raw_write(io, peer.client, ws::test::text_of(ws::test::client_frame(Opcode::text, "go")));
  ASSERT_TRUE(run_until(io, [&] { return big_sent.has_value(); }));
  EXPECT_EQ(*big_sent, ws::errc::output_queue_full);
  // Refused as well: the connection is closing.
  EXPECT_TRUE(small_sent.value_or(std::error_code{}));
  EXPECT_EQ(peer.server.session()->dropped_count(), 0U);
  const std::vector<ws::test::ParsedFrame> frames =
      raw_read_frames(io, peer.client, peer.received, 1);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::close);
  EXPECT_EQ(frames[0].payload, ws::test::close_payload(1013));
}

// With SlowSubscriberPolicy::drop_messages the refused send is counted and
// the connection goes on.
TEST(AsioBatching, HandlerSendPastTheOutputLimitIsDroppedAndCountedWithTheDropPolicy) {
  ::asio::io_context io;
  StreamOptions options;
  options.config.limits.max_queued_output = 64;
  options.backpressure.policy = ws::SlowSubscriberPolicy::drop_messages;
  RawServerPeer peer = accepted_raw_peer(io, options);
  std::optional<std::error_code> big_sent;
  std::optional<std::error_code> small_sent;
  std::string buffer;
  peer.server.async_read(buffer, [&](std::error_code error, MessageKind) {
    ASSERT_FALSE(error);
    big_sent = peer.server.session()->send_text(std::string(1024, 'b'));
    small_sent = peer.server.session()->send_text("s");
  });
  raw_write(io, peer.client, ws::test::text_of(ws::test::client_frame(Opcode::text, "go")));
  ASSERT_TRUE(run_until(io, [&] { return big_sent.has_value(); }));
  EXPECT_EQ(*big_sent, ws::errc::output_queue_full);
  EXPECT_EQ(small_sent.value_or(ws::errc::not_open), std::error_code{});
  EXPECT_EQ(peer.server.session()->dropped_count(), 1U);
  const std::vector<ws::test::ParsedFrame> frames =
      raw_read_frames(io, peer.client, peer.received, 1);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::text);
  EXPECT_TRUE(peer.server.is_open());
}

}  // namespace
