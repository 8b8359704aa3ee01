// ws::asio::Stream over real loopback TCP, driven with plain callbacks on one
// io_context: handshake, messages, fragments, pings, closing from either
// side, broken peers and the bounds on what a stream holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "loopback.hpp"
#include "support/frames.hpp"
#include "support/handshake_text.hpp"
#include "ws/asio/stream.hpp"

namespace {

using namespace ws::asio::test;
using ws::CloseCode;
using ws::errc;
using ws::MessageKind;
using ws::Opcode;
using ws::asio::AcceptDecision;
using ws::asio::ControlKind;
using ws::asio::StreamOptions;
using ws::asio::TcpStream;
using OptionalError = std::optional<std::error_code>;

TEST(AsioStream, HandshakeEchoAndCloseWithCallbacks) {
  ::asio::io_context io;
  SocketPair sockets = connect_pair(io);
  const std::string url = url_for(sockets.server, "/chat?room=1");
  TcpStream server(std::move(sockets.server));
  TcpStream client(std::move(sockets.client));

  OptionalError accepted;
  OptionalError connected;
  server.async_accept(
      [](const ws::UpgradeRequest& request) {
        if (request.path != "/chat") return AcceptDecision::reject(404);
        ws::AcceptOptions options;
        options.subprotocols = {"chat.v2", "chat.v1"};
        return AcceptDecision::accept_with(options);
      },
      [&](std::error_code error) { accepted = error; });
  ws::ClientHandshakeOptions client_options;
  client_options.subprotocols = {"chat.v1"};
  client.async_handshake(url, client_options, [&](std::error_code error) { connected = error; });
  ASSERT_TRUE(run_until(io, [&] { return accepted && connected; }));
  EXPECT_EQ(*accepted, std::error_code{});
  EXPECT_EQ(*connected, std::error_code{});
  EXPECT_TRUE(server.is_open());
  EXPECT_TRUE(client.is_open());
  EXPECT_EQ(server.subprotocol(), "chat.v1");
  EXPECT_EQ(client.subprotocol(), "chat.v1");
  ASSERT_NE(server.request(), nullptr);
  EXPECT_EQ(server.request()->query, "room=1");

  // The server echoes one message from inside its read callback.
  std::string server_buffer;
  OptionalError echoed;
  server.async_read(server_buffer, [&](std::error_code error, MessageKind kind) {
    ASSERT_FALSE(error);
    server.async_write(kind, ws::as_bytes(server_buffer),
                       [&](std::error_code write_error) { echoed = write_error; });
  });
  OptionalError sent;
  client.async_write_text("hello", [&](std::error_code error) { sent = error; });
  ReadOutcome reply;
  read_into(client, reply);
  ASSERT_TRUE(run_until(io, [&] { return echoed && sent && reply.done(); }));
  EXPECT_EQ(*reply.error, std::error_code{});
  EXPECT_EQ(reply.kind, MessageKind::text);
  EXPECT_EQ(reply.payload, "hello");

  // The client closes; the server's pending read ends with the close.
  ReadOutcome server_end;
  read_into(server, server_end);
  OptionalError client_closed;
  client.async_close(CloseCode::normal, "bye",
                     [&](std::error_code error) { client_closed = error; });
  ASSERT_TRUE(run_until(io, [&] { return server_end.done() && client_closed; }));
  EXPECT_EQ(*client_closed, std::error_code{});
  EXPECT_EQ(*server_end.error, errc::connection_closed);
  EXPECT_EQ(server.close_info().code, CloseCode::normal);
  EXPECT_EQ(server.close_info().reason, "bye");
  EXPECT_FALSE(server.is_open());
}

TEST(AsioStream, RejectedUpgradeGivesTheClientTheStatus) {
  ::asio::io_context io;
  SocketPair sockets = connect_pair(io);
  const std::string url = url_for(sockets.server, "/elsewhere");
  TcpStream server(std::move(sockets.server));
  TcpStream client(std::move(sockets.client));
  OptionalError accepted;
  OptionalError connected;
  server.async_accept([](const ws::UpgradeRequest&) { return AcceptDecision::reject(404, "no"); },
                      [&](std::error_code error) { accepted = error; });
  client.async_handshake(url, [&](std::error_code error) { connected = error; });
  ASSERT_TRUE(run_until(io, [&] { return accepted && connected; }));
  EXPECT_EQ(*accepted, errc::rejected_by_application);
  EXPECT_EQ(*connected, errc::unexpected_status);
  EXPECT_EQ(client.rejection_status(), 404);
}

TEST(AsioStream, InvalidUrlFailsTheHandshake) {
  ::asio::io_context io;
  SocketPair sockets = connect_pair(io);
  TcpStream client(std::move(sockets.client));
  OptionalError connected;
  client.async_handshake("http://example.com/", [&](std::error_code error) { connected = error; });
  ASSERT_TRUE(run_until(io, [&] { return connected.has_value(); }));
  EXPECT_EQ(*connected, errc::invalid_url);
}

// An HTTP server that read the request head itself hands it over together
// with the bytes it read past the head (here: the first frame).
TEST(AsioStream, AcceptsARequestTheApplicationAlreadyRead) {
  ::asio::io_context io;
  SocketPair sockets = connect_pair(io);
  const ws::test::Bytes first_frame = ws::test::client_frame(Opcode::text, "early");
  std::string sent = ws::test::valid_upgrade_request();
  sent += ws::test::text_of(first_frame);
  ::asio::write(sockets.client, ::asio::buffer(sent));

  std::string read_so_far;
  std::optional<std::size_t> head_size;
  ::asio::async_read_until(sockets.server, ::asio::dynamic_buffer(read_so_far), "\r\n\r\n",
                           [&](std::error_code error, std::size_t n) {
                             ASSERT_FALSE(error);
                             head_size = n;
                           });
  ASSERT_TRUE(run_until(io, [&] { return head_size.has_value(); }));
  const std::string head = read_so_far.substr(0, *head_size);
  const std::string after = read_so_far.substr(*head_size);
  ASSERT_TRUE(ws::is_upgrade(head));

  TcpStream server(std::move(sockets.server));
  OptionalError accepted;
  server.async_accept(head, ws::as_bytes(after), {},
                      [&](std::error_code error) { accepted = error; });
  ReadOutcome message;
  ASSERT_TRUE(run_until(io, [&] { return accepted.has_value(); }));
  EXPECT_EQ(*accepted, std::error_code{});
  read_into(server, message);
  ASSERT_TRUE(run_until(io, [&] { return message.done(); }));
  EXPECT_EQ(*message.error, std::error_code{});
  EXPECT_EQ(message.payload, "early");

  std::string extra;
  std::optional<std::size_t> response_size;
  ::asio::async_read_until(sockets.client, ::asio::dynamic_buffer(extra), "\r\n\r\n",
                           [&](std::error_code, std::size_t n) { response_size = n; });
  ASSERT_TRUE(run_until(io, [&] { return response_size.has_value(); }));
  EXPECT_EQ(extra.rfind("HTTP/1.1 101", 0), 0U) << extra;
}

TEST(AsioStream, InvalidPreReadRequestIsAnsweredWithItsError) {
  ::asio::io_context io;
  SocketPair sockets = connect_pair(io);
  const std::string head = ws::test::head_text(
      "GET /chat HTTP/1.1", ws::test::without(ws::test::upgrade_fields(), "Sec-WebSocket-Key"));
  TcpStream server(std::move(sockets.server));
  OptionalError accepted;
  server.async_accept(head, {}, {}, [&](std::error_code error) { accepted = error; });

  std::string response;
  std::optional<std::error_code> read_end;
  ::asio::async_read(sockets.client, ::asio::dynamic_buffer(response),
                     [&](std::error_code error, std::size_t) { read_end = error; });
  ASSERT_TRUE(run_until(io, [&] { return accepted && read_end; }));
  EXPECT_EQ(*accepted, errc::missing_key);
  EXPECT_EQ(response.rfind("HTTP/1.1 400", 0), 0U) << response;
  EXPECT_EQ(*read_end, ::asio::error::eof);  // the server closed after answering
}

TEST(AsioStream, JoinsFragmentsAndAnswersPingsBetweenThem) {
  ::asio::io_context io;
  SocketPair sockets = connect_pair(io);
  TcpStream server(std::move(sockets.server));
  OptionalError accepted;
  server.async_accept([&](std::error_code error) { accepted = error; });
  std::string extra;
  const std::string response = raw_client_handshake(io, sockets.client, extra);
  ASSERT_TRUE(run_until(io, [&] { return accepted.has_value(); }));
  ASSERT_EQ(response.rfind("HTTP/1.1 101", 0), 0U);

  ReadOutcome message;
  read_into(server, message);
  const ws::test::Bytes wire = ws::test::concat({
      ws::test::client_frame(Opcode::text, "Hel", false),
      ws::test::client_frame(Opcode::ping, "p"),
      ws::test::client_frame(Opcode::continuation, "lo, ", false),
      ws::test::client_frame(Opcode::continuation, "world", true),
  });
  // One byte at a time, letting the server run between them.
  for (const std::byte& b : wire) {
    ::asio::write(sockets.client, ::asio::buffer(&b, 1));
    io.restart();
    io.poll();
  }
  ASSERT_TRUE(run_until(io, [&] { return message.done(); }));
  EXPECT_EQ(*message.error, std::error_code{});
  EXPECT_EQ(message.kind, MessageKind::text);
  EXPECT_EQ(message.payload, "Hello, world");

  ws::test::Bytes received = ws::test::bytes_of(extra);
  const auto frames = raw_read_frames(io, sockets.client, received, 1);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::pong);
  EXPECT_EQ(ws::test::text_of(frames[0].payload), "p");
}

TEST(AsioStream, PingsAreAnsweredWhileAReadIsPending) {
  ::asio::io_context io;
  OpenPair pair = open_pair(io);
  std::vector<std::pair<ControlKind, std::string>> server_saw;
  std::vector<std::pair<ControlKind, std::string>> client_saw;
  pair.server.set_control_callback([&](ControlKind kind, ws::ByteView payload) {
    server_saw.emplace_back(kind, std::string(ws::as_text(payload)));
  });
  pair.client.set_control_callback([&](ControlKind kind, ws::ByteView payload) {
    client_saw.emplace_back(kind, std::string(ws::as_text(payload)));
  });
  ReadOutcome server_read;
  ReadOutcome client_read;
  read_into(pair.server, server_read);
  read_into(pair.client, client_read);
  OptionalError pinged;
  pair.client.async_ping(ws::as_bytes("are you there"),
                         [&](std::error_code error) { pinged = error; });
  ASSERT_TRUE(run_until(io, [&] { return pinged && !client_saw.empty(); }));
  EXPECT_EQ(*pinged, std::error_code{});
  ASSERT_EQ(server_saw.size(), 1U);
  EXPECT_EQ(server_saw[0].first, ControlKind::ping);
  EXPECT_EQ(server_saw[0].second, "are you there");
  ASSERT_EQ(client_saw.size(), 1U);
  EXPECT_EQ(client_saw[0].first, ControlKind::pong);
  EXPECT_EQ(client_saw[0].second, "are you there");
  EXPECT_FALSE(server_read.done());
  EXPECT_FALSE(client_read.done());
}

TEST(AsioStream, KeepalivePingsGoOutWhileTheConnectionIsIdle) {
  ::asio::io_context io;
  StreamOptions server_options;
  server_options.config.timeouts.keepalive_interval = std::chrono::milliseconds(30);
  OpenPair pair = open_pair(io, server_options);
  int pings = 0;
  int pongs = 0;
  pair.client.set_control_callback([&](ControlKind kind, ws::ByteView) {
    if (kind == ControlKind::ping) ++pings;
  });
  pair.server.set_control_callback([&](ControlKind kind, ws::ByteView) {
    if (kind == ControlKind::pong) ++pongs;
  });
  ReadOutcome server_read;
  ReadOutcome client_read;
  read_into(pair.server, server_read);
  read_into(pair.client, client_read);
  ASSERT_TRUE(run_until(io, [&] { return pings >= 2 && pongs >= 2; }));
  EXPECT_FALSE(server_read.done());
  EXPECT_FALSE(client_read.done());
}

TEST(AsioStream, IdleTimeoutEndsASilentConnection) {
  ::asio::io_context io;
  StreamOptions server_options;
  server_options.config.timeouts.idle_timeout = std::chrono::milliseconds(50);
  OpenPair pair = open_pair(io, server_options);
  ReadOutcome server_read;
  read_into(pair.server, server_read);  // the client stays silent and does not read
  ASSERT_TRUE(run_until(io, [&] { return server_read.done(); }));
  EXPECT_EQ(*server_read.error, errc::idle_timeout);
  EXPECT_EQ(pair.server.close_info().sent_code, CloseCode::going_away);
}

TEST(AsioStream, ServerClosesAndTheClientSeesItsCode) {
  ::asio::io_context io;
  OpenPair pair = open_pair(io);
  ReadOutcome client_read;
  read_into(pair.client, client_read);
  OptionalError server_closed;
  pair.server.async_close(CloseCode::going_away, "restart",
                          [&](std::error_code error) { server_closed = error; });
  ASSERT_TRUE(run_until(io, [&] { return client_read.done() && server_closed; }));
  EXPECT_EQ(*client_read.error, errc::connection_closed);
  EXPECT_EQ(pair.client.close_info().code, CloseCode::going_away);
  EXPECT_EQ(pair.client.close_info().reason, "restart");
  EXPECT_EQ(*server_closed, std::error_code{});

  // Later operations report the end.
  ReadOutcome again;
  read_into(pair.client, again);
  OptionalError write_after;
  pair.client.async_write_text("late", [&](std::error_code error) { write_after = error; });
  ASSERT_TRUE(run_until(io, [&] { return again.done() && write_after; }));
  EXPECT_EQ(*again.error, errc::connection_closed);
  EXPECT_TRUE(*write_after);
}

TEST(AsioStream, CloseAfterASilenceLongerThanTheCloseTimeoutCompletesCleanly) {
  // No timer runs while open, so the stream last told the Connection the
  // time when the handshake ended; the close wait must still start at the
  // close, not then (it used to end at once with close_timeout).
  ::asio::io_context io;
  StreamOptions server_options;
  server_options.config.timeouts.close_timeout = std::chrono::milliseconds(200);
  OpenPair pair = open_pair(io, server_options);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  ReadOutcome client_read;
  read_into(pair.client, client_read);
  OptionalError server_closed;
  pair.server.async_close(CloseCode::normal, "bye",
                          [&](std::error_code error) { server_closed = error; });
  ASSERT_TRUE(run_until(io, [&] { return client_read.done() && server_closed; }));
  EXPECT_EQ(*server_closed, std::error_code{});
  EXPECT_EQ(pair.server.close_info().error, std::error_code{});
  EXPECT_EQ(*client_read.error, errc::connection_closed);
}

TEST(AsioStream, BothSidesClosingAtOnceCompleteCleanly) {
  ::asio::io_context io;
  OpenPair pair = open_pair(io);
  OptionalError server_closed;
  OptionalError client_closed;
  pair.server.async_close(CloseCode::normal, [&](std::error_code error) { server_closed = error; });
  pair.client.async_close(CloseCode::normal, [&](std::error_code error) { client_closed = error; });
  ASSERT_TRUE(run_until(io, [&] { return server_closed && client_closed; }));
  EXPECT_EQ(*server_closed, std::error_code{});
  EXPECT_EQ(*client_closed, std::error_code{});
}

TEST(AsioStream, PeerVanishingMidFrameEndsTheReadWithUnexpectedEof) {
  ::asio::io_context io;
  SocketPair sockets = connect_pair(io);
  TcpStream server(std::move(sockets.server));
  OptionalError accepted;
  server.async_accept([&](std::error_code error) { accepted = error; });
  std::string extra;
  raw_client_handshake(io, sockets.client, extra);
  ASSERT_TRUE(run_until(io, [&] { return accepted.has_value(); }));

  ReadOutcome message;
  read_into(server, message);
  // A header announcing 1000 bytes, 10 of them, then the peer is gone.
  ws::test::FrameSpec spec;
  ws::test::Bytes partial = ws::test::frame_header(spec, 1000);
  partial.resize(partial.size() + 10, std::byte{'x'});
  ::asio::write(sockets.client, ::asio::buffer(partial));
  sockets.client.close();
  ASSERT_TRUE(run_until(io, [&] { return message.done(); }));
  EXPECT_EQ(*message.error, errc::unexpected_eof);
  EXPECT_EQ(server.close_info().code, CloseCode::abnormal);

  OptionalError closed;
  server.async_close(CloseCode::normal, [&](std::error_code error) { closed = error; });
  ASSERT_TRUE(run_until(io, [&] { return closed.has_value(); }));
  EXPECT_EQ(*closed, errc::unexpected_eof);
}

TEST(AsioStream, ASecondConcurrentReadFails) {
  ::asio::io_context io;
  OpenPair pair = open_pair(io);
  ReadOutcome first;
  ReadOutcome second;
  read_into(pair.server, first);
  read_into(pair.server, second);
  ASSERT_TRUE(run_until(io, [&] { return second.done(); }));
  EXPECT_EQ(*second.error, std::errc::operation_in_progress);
  EXPECT_FALSE(first.done());
}

TEST(AsioStream, DestroyingTheStreamCancelsItsPendingRead) {
  ::asio::io_context io;
  OpenPair pair = open_pair(io);
  ReadOutcome pending;
  {
    TcpStream doomed = std::move(pair.server);
    read_into(doomed, pending);
  }
  ASSERT_TRUE(run_until(io, [&] { return pending.done(); }));
  EXPECT_EQ(*pending.error, std::errc::operation_canceled);
  // The peer sees the connection end.
  ReadOutcome client_read;
  read_into(pair.client, client_read);
  ASSERT_TRUE(run_until(io, [&] { return client_read.done(); }));
  EXPECT_EQ(*client_read.error, errc::unexpected_eof);
}

// A raw client that completes the handshake and then never reads.
struct StalledPeer {
  ::asio::io_context io;
  std::optional<TcpStream> server;
  std::optional<tcp::socket> client;

  explicit StalledPeer(StreamOptions options) {
    SocketPair sockets = connect_pair(io);
    // Small kernel buffers, so the stall shows after a few hundred KiB.
    sockets.client.set_option(::asio::socket_base::receive_buffer_size(64 * 1024));
    sockets.server.set_option(::asio::socket_base::send_buffer_size(64 * 1024));
    server.emplace(std::move(sockets.server), std::move(options));
    client.emplace(std::move(sockets.client));
    OptionalError accepted;
    server->async_accept([&](std::error_code error) { accepted = error; });
    std::string extra;
    raw_client_handshake(io, *client, extra);
    EXPECT_TRUE(run_until(io, [&] { return accepted.has_value(); }));
  }
};

// Whatever the peer does, the stream holds at most max_queued_output bytes:
// writes past it fail at once, and the stalled rest is dropped after the
// write timeout.
TEST(AsioStream, PeerThatNeverReadsCannotGrowTheOutputPastItsLimit) {
  StreamOptions options;
  options.config.limits.max_queued_output = 1024 * 1024;
  options.max_queued_writes = 1000;
  options.write_stall_timeout = std::chrono::milliseconds(300);
  StalledPeer peer(options);

  const std::string message(64 * 1024, 'm');
  constexpr std::size_t kWrites = 200;  // 12.5 MiB offered
  std::vector<OptionalError> results(kWrites);
  for (std::size_t i = 0; i < kWrites; ++i) {
    peer.server->async_write_binary(ws::as_bytes(message),
                                    [&results, i](std::error_code error) { results[i] = error; });
  }
  const auto all_done = [&] {
    for (const OptionalError& result : results) {
      if (!result) return false;
    }
    return true;
  };
  ASSERT_TRUE(run_until(peer.io, all_done));
  std::size_t refused = 0;
  std::size_t timed_out = 0;
  for (const OptionalError& result : results) {
    if (*result == errc::output_queue_full) ++refused;
    if (*result == std::errc::timed_out) ++timed_out;
  }
  EXPECT_GT(refused, 0U);
  EXPECT_GT(timed_out, 0U);
  // What the stream still held when it gave up fits in the limit.
  EXPECT_LE(timed_out * message.size(), options.config.limits.max_queued_output + message.size());
}

TEST(AsioStream, WritesQueueUpToTheirLimitThenFail) {
  StreamOptions options;
  options.max_queued_writes = 4;
  options.write_stall_timeout = std::chrono::milliseconds(300);
  StalledPeer peer(options);

  const std::string message(256 * 1024, 'q');
  constexpr std::size_t kWrites = 20;
  std::vector<OptionalError> results(kWrites);
  for (std::size_t i = 0; i < kWrites; ++i) {
    peer.server->async_write_binary(ws::as_bytes(message),
                                    [&results, i](std::error_code error) { results[i] = error; });
  }
  ASSERT_TRUE(run_until(peer.io, [&] {
    return std::all_of(results.begin(), results.end(),
                       [](const OptionalError& result) { return result.has_value(); });
  }));
  const auto refused = static_cast<std::size_t>(std::count_if(
      results.begin(), results.end(),
      [](const OptionalError& result) { return *result == errc::output_queue_full; }));
  // 20 writes of 256 KiB stay far below max_queued_output (32 MiB): only the
  // count limit refuses them, and only once four wait.
  EXPECT_GT(refused, 0U);
  EXPECT_LE(refused, kWrites - 4);
  // The ones that waited were dropped by the write timeout.
  EXPECT_EQ(*results[kWrites - refused - 1], std::errc::timed_out);
}

}  // namespace
