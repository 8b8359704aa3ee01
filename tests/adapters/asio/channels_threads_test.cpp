// Channels over ws::asio: other threads publish through a Registry and send
// through Sessions while the io_context runs on the test thread. The suite
// name ends in Threads, so the ThreadSanitizer build runs it.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "loopback.hpp"
#include "support/frames.hpp"
#include "ws/asio/stream.hpp"
#include "ws/channels/registry.hpp"

namespace {

using namespace ws::asio::test;
using ws::CloseCode;
using ws::MessageKind;
using ws::Opcode;
using ws::asio::StreamOptions;
using ws::asio::TcpStream;
using ws::channels::Registry;

// Reads messages into `received` until the connection ends.
struct Collector {
  TcpStream& stream;
  std::vector<std::string> received;
  std::string buffer;
  std::optional<std::error_code> ended;

  void start() {
    stream.async_read(buffer, [this](std::error_code error, MessageKind) {
      if (error) {
        ended = error;
        return;
      }
      received.push_back(buffer);
      start();
    });
  }
};

// "<channel>:<publisher>:<sequence>"
std::string label(const std::string& channel, int publisher, int sequence) {
  return channel + ":" + std::to_string(publisher) + ":" + std::to_string(sequence);
}

// True when, for every publisher, its messages appear in `received` in the
// order it published them, each exactly once, and nothing else appears.
bool in_publish_order(const std::vector<std::string>& received, const std::string& channel,
                      int publishers, int per_publisher) {
  std::map<int, int> next;
  for (const std::string& message : received) {
    const std::size_t first = message.find(':');
    const std::size_t second = message.find(':', first + 1);
    if (message.substr(0, first) != channel) return false;
    const int publisher = std::stoi(message.substr(first + 1, second - first - 1));
    const int sequence = std::stoi(message.substr(second + 1));
    if (sequence != next[publisher]++) return false;
  }
  for (int p = 0; p < publishers; ++p) {
    if (next[p] != per_publisher) return false;
  }
  return true;
}

TEST(AsioChannelsThreads, PublishedMessagesReachEveryMemberInOrderAndChannelsNeverMix) {
  ::asio::io_context io;
  Registry registry;
  StreamOptions server_options;
  server_options.registry = &registry;
  std::vector<OpenPair> pairs;
  for (int i = 0; i < 3; ++i) pairs.push_back(open_pair(io, server_options));
  // Connection 0 hears "room", connection 2 "hub", connection 1 both.
  ASSERT_TRUE(registry.join("room", pairs[0].server.session()));
  ASSERT_TRUE(registry.join("room", pairs[1].server.session()));
  ASSERT_TRUE(registry.join("hub", pairs[1].server.session()));
  ASSERT_TRUE(registry.join("hub", pairs[2].server.session()));

  std::vector<Collector> collectors;
  collectors.reserve(pairs.size());
  for (OpenPair& pair : pairs) collectors.push_back(Collector{pair.client, {}, {}, {}});
  for (Collector& collector : collectors) collector.start();

  constexpr int kRoomPublishers = 3;
  constexpr int kPerPublisher = 200;
  std::atomic<std::size_t> deliveries{0};
  std::vector<std::thread> publishers;
  for (int p = 0; p < kRoomPublishers; ++p) {
    publishers.emplace_back([&, p] {
      for (int i = 0; i < kPerPublisher; ++i) {
        deliveries +=
            registry.publish("room", MessageKind::text, ws::as_bytes(label("room", p, i)));
      }
    });
  }
  publishers.emplace_back([&] {
    for (int i = 0; i < kPerPublisher; ++i) {
      deliveries += registry.publish("hub", MessageKind::text, ws::as_bytes(label("hub", 0, i)));
    }
  });

  const std::size_t room_total = kRoomPublishers * kPerPublisher;
  const bool arrived = run_until(io, [&] {
    return collectors[0].received.size() >= room_total &&
           collectors[1].received.size() >= room_total + kPerPublisher &&
           collectors[2].received.size() >= static_cast<std::size_t>(kPerPublisher);
  });
  for (std::thread& publisher : publishers) publisher.join();
  ASSERT_TRUE(arrived);
  EXPECT_EQ(deliveries.load(), 2 * room_total + 2 * kPerPublisher);

  EXPECT_TRUE(in_publish_order(collectors[0].received, "room", kRoomPublishers, kPerPublisher));
  EXPECT_TRUE(in_publish_order(collectors[2].received, "hub", 1, kPerPublisher));
  std::vector<std::string> room_part;
  std::vector<std::string> hub_part;
  for (const std::string& message : collectors[1].received) {
    (message.rfind("room:", 0) == 0 ? room_part : hub_part).push_back(message);
  }
  EXPECT_TRUE(in_publish_order(room_part, "room", kRoomPublishers, kPerPublisher));
  EXPECT_TRUE(in_publish_order(hub_part, "hub", 1, kPerPublisher));

  // A connection that ends leaves its channels. (Its server side must read
  // to see the close.)
  ReadOutcome server_read;
  read_into(pairs[1].server, server_read);
  std::optional<std::error_code> closed;
  pairs[1].client.async_close(CloseCode::normal, [&](std::error_code error) { closed = error; });
  ASSERT_TRUE(run_until(io, [&] {
    return closed.has_value() && server_read.done() && registry.member_count("room") == 1 &&
           registry.member_count("hub") == 1;
  }));
}

TEST(AsioChannelsThreads, SessionSendsFromAnotherThreadArriveInOrder) {
  ::asio::io_context io;
  OpenPair pair = open_pair(io);
  Collector collector{pair.client, {}, {}, {}};
  collector.start();
  constexpr int kMessages = 500;
  std::thread sender([session = pair.server.session()] {
    for (int i = 0; i < kMessages; ++i) {
      EXPECT_EQ(session->send_text(label("direct", 0, i)), std::error_code{});
    }
  });
  const bool arrived = run_until(
      io, [&] { return collector.received.size() >= static_cast<std::size_t>(kMessages); });
  sender.join();
  ASSERT_TRUE(arrived);
  EXPECT_TRUE(in_publish_order(collector.received, "direct", 1, kMessages));

  // The client side re-masks what other threads send through its Session.
  ReadOutcome at_server;
  read_into(pair.server, at_server);
  std::thread client_sender([session = pair.client.session()] {
    EXPECT_EQ(session->send_binary(ws::as_bytes("up")), std::error_code{});
  });
  const bool got = run_until(io, [&] { return at_server.done(); });
  client_sender.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(*at_server.error, std::error_code{});
  EXPECT_EQ(at_server.kind, MessageKind::binary);
  EXPECT_EQ(at_server.payload, "up");
}

// A member that stops reading falls behind by the high-water mark; then the
// policy closes it with 1013 (try again later), behind what it was sent.
TEST(AsioChannelsThreads, SlowSubscriberIsClosedWithTryAgainLater) {
  ::asio::io_context io;
  Registry registry;
  StreamOptions options;
  options.registry = &registry;
  options.backpressure.high_water = 256 * 1024;
  options.backpressure.low_water = 64 * 1024;
  SocketPair sockets = connect_pair(io);
  sockets.client.set_option(::asio::socket_base::receive_buffer_size(64 * 1024));
  sockets.server.set_option(::asio::socket_base::send_buffer_size(64 * 1024));
  TcpStream server(std::move(sockets.server), options);
  std::optional<std::error_code> accepted;
  server.async_accept([&](std::error_code error) { accepted = error; });
  std::string extra;
  raw_client_handshake(io, sockets.client, extra);
  ASSERT_TRUE(run_until(io, [&] { return accepted.has_value(); }));
  ASSERT_TRUE(registry.join("feed", server.session()));
  ReadOutcome server_read;  // keeps the server reading the (silent) peer
  read_into(server, server_read);

  const std::string chunk(32 * 1024, 'f');
  std::atomic<bool> refused{false};
  std::atomic<int> published{0};
  std::thread publisher([&] {
    const auto give_up = std::chrono::steady_clock::now() + kTestDeadline;
    while (!refused && std::chrono::steady_clock::now() < give_up) {
      if (registry.publish("feed", MessageKind::binary, ws::as_bytes(chunk)) == 0) {
        refused = true;
      } else {
        ++published;
      }
    }
  });
  const bool stopped = run_until(io, [&] { return refused.load(); });
  publisher.join();
  ASSERT_TRUE(stopped);

  // Now the peer reads everything: the messages it was sent, then 1013.
  Bytes received = ws::test::bytes_of(extra);
  std::vector<ws::test::ParsedFrame> frames;
  const auto most = static_cast<std::size_t>(published.load()) + 1;
  for (std::size_t want = 1; want <= most; want = frames.size() + 1) {
    frames = raw_read_frames(io, sockets.client, received, want);
    if (frames.size() < want || frames.back().header.opcode == Opcode::close) break;
  }
  ASSERT_FALSE(frames.empty());
  const ws::test::ParsedFrame& close = frames.back();
  ASSERT_EQ(close.header.opcode, Opcode::close);
  ASSERT_GE(close.payload.size(), 2U);
  EXPECT_EQ(std::to_integer<int>(close.payload[0]) * 256 + std::to_integer<int>(close.payload[1]),
            1013);
  for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
    EXPECT_EQ(frames[i].payload.size(), chunk.size());
  }

  // The peer answers the close; the connection ends and leaves the channel.
  raw_write(io, sockets.client,
            ws::test::text_of(ws::test::client_frame(
                Opcode::close, ws::test::text_of(ws::test::close_payload(1013)))));
  ASSERT_TRUE(
      run_until(io, [&] { return server_read.done() && registry.member_count("feed") == 0; }));
  EXPECT_EQ(*server_read.error, ws::errc::connection_closed);
  EXPECT_EQ(server.close_info().code, CloseCode::try_again_later);
}

}  // namespace
