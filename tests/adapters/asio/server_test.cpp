// ws::asio::Server over loopback: the per-connection loop with a handler or
// echo, and graceful shutdown (1001 to everyone, bounded by a timeout).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loopback.hpp"
#include "ws/asio/server.hpp"
#include "ws/asio/stream.hpp"

namespace {

using namespace ws::asio::test;
using ws::CloseCode;
using ws::errc;
using ws::MessageKind;
using ws::asio::Server;
using ws::asio::ServerHandlers;
using ws::asio::ServerOptions;
using ws::asio::TcpStream;
using OptionalError = std::optional<std::error_code>;

tcp::endpoint loopback_any_port() { return {::asio::ip::address_v4::loopback(), 0}; }

// A client Stream connected to `server` with its handshake done.
std::unique_ptr<TcpStream> connect_client(::asio::io_context& io, const Server& server,
                                          const std::string& path = "/echo") {
  tcp::socket socket(io);
  socket.connect(server.local_endpoint());
  auto client = std::make_unique<TcpStream>(std::move(socket));
  OptionalError connected;
  const std::string url = "ws://127.0.0.1:" + std::to_string(server.local_endpoint().port()) + path;
  client->async_handshake(url, [&](std::error_code error) { connected = error; });
  EXPECT_TRUE(run_until(io, [&] { return connected.has_value(); }));
  EXPECT_EQ(connected.value_or(std::error_code{}), std::error_code{});
  return client;
}

std::string round_trip(::asio::io_context& io, TcpStream& client, const std::string& message) {
  OptionalError sent;
  client.async_write_text(message, [&](std::error_code error) { sent = error; });
  ReadOutcome reply;
  read_into(client, reply);
  EXPECT_TRUE(run_until(io, [&] { return sent && reply.done(); }));
  return reply.payload;
}

TEST(AsioServer, EchoesWithoutAHandler) {
  ::asio::io_context io;
  Server server(io.get_executor(), ServerOptions{});
  ASSERT_EQ(server.listen(loopback_any_port()), std::error_code{});
  auto client = connect_client(io, server);
  EXPECT_EQ(round_trip(io, *client, "ping me back"), "ping me back");
  EXPECT_EQ(server.connection_count(), 1U);
}

TEST(AsioServer, HandlersSeeOpenMessagesAndCloseAndReplyThroughTheSession) {
  ::asio::io_context io;
  std::vector<std::string> opened_paths;
  std::vector<CloseCode> close_codes;
  ServerHandlers handlers;
  handlers.on_open = [&](const std::shared_ptr<ws::asio::Session>&,
                         const ws::UpgradeRequest& request) {
    opened_paths.push_back(request.path);
  };
  handlers.on_message = [](const std::shared_ptr<ws::asio::Session>& session, MessageKind,
                           std::string& payload) {
    EXPECT_EQ(session->send_text("got " + payload), std::error_code{});
  };
  handlers.on_close = [&](const std::shared_ptr<ws::asio::Session>&,
                          const ws::asio::CloseInfo& info) { close_codes.push_back(info.code); };
  ServerOptions options;
  options.accept = [](const ws::UpgradeRequest& request) {
    return request.path == "/app" ? ws::asio::AcceptDecision{}
                                  : ws::asio::AcceptDecision::reject(404);
  };
  Server server(io.get_executor(), options, handlers);
  ASSERT_EQ(server.listen(loopback_any_port()), std::error_code{});

  auto client = connect_client(io, server, "/app");
  EXPECT_EQ(round_trip(io, *client, "x"), "got x");
  OptionalError closed;
  client->async_close(CloseCode::normal, [&](std::error_code error) { closed = error; });
  ASSERT_TRUE(run_until(io, [&] { return closed && server.connection_count() == 0; }));
  EXPECT_EQ(*closed, std::error_code{});
  EXPECT_EQ(opened_paths, std::vector<std::string>{"/app"});
  EXPECT_EQ(close_codes, std::vector<CloseCode>{CloseCode::normal});

  // A refused path never opens.
  tcp::socket socket(io);
  socket.connect(server.local_endpoint());
  TcpStream refused(std::move(socket));
  OptionalError connected;
  refused.async_handshake(
      "ws://127.0.0.1:" + std::to_string(server.local_endpoint().port()) + "/other",
      [&](std::error_code error) { connected = error; });
  ASSERT_TRUE(run_until(io, [&] { return connected.has_value(); }));
  EXPECT_EQ(*connected, errc::unexpected_status);
  EXPECT_EQ(refused.rejection_status(), 404);
  EXPECT_EQ(opened_paths.size(), 1U);
}

TEST(AsioServer, ShutdownClosesEveryConnectionWithGoingAway) {
  ::asio::io_context io;
  Server server(io.get_executor(), ServerOptions{});
  ASSERT_EQ(server.listen(loopback_any_port()), std::error_code{});
  std::vector<std::unique_ptr<TcpStream>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(connect_client(io, server));
  for (auto& client : clients) EXPECT_EQ(round_trip(io, *client, "hi"), "hi");
  std::vector<ReadOutcome> reads(clients.size());
  for (std::size_t i = 0; i < clients.size(); ++i) read_into(*clients[i], reads[i]);

  OptionalError shut;
  server.async_shutdown(std::chrono::seconds(5), [&](std::error_code error) { shut = error; });
  ASSERT_TRUE(run_until(io, [&] {
    if (!shut) return false;
    for (const ReadOutcome& read : reads) {
      if (!read.done()) return false;
    }
    return true;
  }));
  EXPECT_EQ(*shut, std::error_code{});
  EXPECT_EQ(server.connection_count(), 0U);
  for (std::size_t i = 0; i < clients.size(); ++i) {
    EXPECT_EQ(*reads[i].error, errc::connection_closed);
    EXPECT_EQ(clients[i]->close_info().code, CloseCode::going_away);
  }
  // No longer accepting.
  tcp::socket late(io);
  std::error_code refused;
  late.connect(server.local_endpoint(), refused);
  EXPECT_TRUE(refused);
}

TEST(AsioServer, ShutdownDropsConnectionsThatDoNotAnswerInTime) {
  ::asio::io_context io;
  Server server(io.get_executor(), ServerOptions{});
  ASSERT_EQ(server.listen(loopback_any_port()), std::error_code{});
  auto answering = connect_client(io, server);
  ReadOutcome answering_read;
  read_into(*answering, answering_read);
  // A raw client that completes the handshake and then ignores everything.
  tcp::socket silent(io);
  silent.connect(server.local_endpoint());
  std::string extra;
  raw_client_handshake(io, silent, extra);
  ASSERT_TRUE(run_until(io, [&] { return server.connection_count() == 2; }));

  OptionalError shut;
  const auto started = std::chrono::steady_clock::now();
  server.async_shutdown(std::chrono::milliseconds(200),
                        [&](std::error_code error) { shut = error; });
  ASSERT_TRUE(run_until(io, [&] { return shut.has_value() && answering_read.done(); }));
  EXPECT_EQ(*shut, std::errc::timed_out);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(200));
  EXPECT_EQ(server.connection_count(), 0U);
  EXPECT_EQ(*answering_read.error, errc::connection_closed);
}

}  // namespace
