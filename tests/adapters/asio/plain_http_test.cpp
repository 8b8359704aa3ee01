// Plain HTTP on the WebSocket port (Config::serve_plain_http): with an
// HttpHandler a Stream or Server answers a request that is not an upgrade
// with the handler's answer and ends the connection; upgrades on the same
// port still work, and the accept handler refuses bad ones before any
// upgrade.
#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "loopback.hpp"
#include "ws/asio/server.hpp"
#include "ws/asio/stream.hpp"

namespace {

using namespace ws::asio::test;
using ws::errc;
using ws::asio::AcceptDecision;
using ws::asio::HttpAnswer;
using ws::asio::Server;
using ws::asio::ServerOptions;
using ws::asio::TcpStream;
using OptionalError = std::optional<std::error_code>;

constexpr std::string_view kGetPage =
    "GET /?from=test HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\n\r\n";

HttpAnswer page_answer(const ws::HttpHead& head) {
  if (head.method == "GET" && head.target.substr(0, head.target.find('?')) == "/") {
    return HttpAnswer{200, "<p>the page</p>", {{"Content-Type", "text/html"}}};
  }
  return HttpAnswer{404, "not found\n", {}};
}

// Raw peer: reads everything until the other side ends the stream. False
// when it did not end it in time.
bool raw_read_to_end(::asio::io_context& io, tcp::socket& socket, std::string& received) {
  bool ended = false;
  std::array<char, 4096> chunk{};
  std::function<void()> read_more = [&] {
    socket.async_read_some(::asio::buffer(chunk), [&](std::error_code error, std::size_t n) {
      if (error) {
        ended = true;
        return;
      }
      received.append(chunk.data(), n);
      read_more();
    });
  };
  read_more();
  if (run_until(io, [&] { return ended; })) return true;
  socket.close();  // the pending read must not outlive this frame
  io.restart();
  io.poll();
  return false;
}

std::string exchange_raw(::asio::io_context& io, tcp::socket& socket, std::string_view request) {
  raw_write(io, socket, request);
  std::string response;
  EXPECT_TRUE(raw_read_to_end(io, socket, response)) << "the connection was not ended";
  return response;
}

tcp::endpoint loopback_any_port() { return {::asio::ip::address_v4::loopback(), 0}; }

TEST(AsioPlainHttp, StreamAnswersAPlainRequestWithTheHandlerAndEndsTheConnection) {
  ::asio::io_context io;
  SocketPair sockets = connect_pair(io);
  TcpStream server(std::move(sockets.server));
  std::string seen_target;
  OptionalError accepted;
  server.async_accept(
      ws::asio::AcceptHandler{},
      [&](const ws::HttpHead& head) {
        seen_target = std::string(head.target);
        return page_answer(head);
      },
      [&](std::error_code error) { accepted = error; });
  const std::string response = exchange_raw(io, sockets.client, kGetPage);
  ASSERT_TRUE(run_until(io, [&] { return accepted.has_value(); }));
  EXPECT_EQ(*accepted, errc::answered_as_http);
  EXPECT_EQ(seen_target, "/?from=test");
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0U) << response;
  EXPECT_NE(response.find("Content-Type: text/html\r\n"), std::string::npos) << response;
  EXPECT_NE(response.find("Content-Length: 15\r\n"), std::string::npos) << response;
  EXPECT_NE(response.find("Connection: close\r\n"), std::string::npos) << response;
  EXPECT_EQ(response.substr(response.size() - 15), "<p>the page</p>");
  EXPECT_FALSE(server.is_open());
}

TEST(AsioPlainHttp, StreamWithoutAHandlerStillAnswersAPlainRequestWith400) {
  ::asio::io_context io;
  SocketPair sockets = connect_pair(io);
  TcpStream server(std::move(sockets.server));
  OptionalError accepted;
  server.async_accept([&](std::error_code error) { accepted = error; });
  const std::string response = exchange_raw(io, sockets.client, kGetPage);
  ASSERT_TRUE(run_until(io, [&] { return accepted.has_value(); }));
  EXPECT_TRUE(*accepted);
  EXPECT_NE(*accepted, errc::answered_as_http);
  EXPECT_EQ(response.rfind("HTTP/1.1 400", 0), 0U) << response;
}

TEST(AsioPlainHttp, StreamWithAHandlerStillUpgradesAWebSocketRequest) {
  ::asio::io_context io;
  SocketPair sockets = connect_pair(io);
  const std::string url = url_for(sockets.server, "/chat");
  TcpStream server(std::move(sockets.server));
  TcpStream client(std::move(sockets.client));
  bool http_called = false;
  OptionalError accepted;
  OptionalError connected;
  server.async_accept(
      ws::asio::AcceptHandler{},
      [&](const ws::HttpHead& head) {
        http_called = true;
        return page_answer(head);
      },
      [&](std::error_code error) { accepted = error; });
  client.async_handshake(url, [&](std::error_code error) { connected = error; });
  ASSERT_TRUE(run_until(io, [&] { return accepted && connected; }));
  EXPECT_EQ(*accepted, std::error_code{});
  EXPECT_EQ(*connected, std::error_code{});
  EXPECT_FALSE(http_called);
  EXPECT_TRUE(server.is_open());
}

TEST(AsioPlainHttp, AnInvalidAnswerFromTheHandlerBecomes500) {
  ::asio::io_context io;
  SocketPair sockets = connect_pair(io);
  TcpStream server(std::move(sockets.server));
  OptionalError accepted;
  server.async_accept(
      ws::asio::AcceptHandler{},
      [](const ws::HttpHead&) {
        return HttpAnswer{42, "?", {}};
      },
      [&](std::error_code error) { accepted = error; });
  const std::string response = exchange_raw(io, sockets.client, kGetPage);
  ASSERT_TRUE(run_until(io, [&] { return accepted.has_value(); }));
  EXPECT_EQ(response.rfind("HTTP/1.1 500", 0), 0U) << response;
}

TEST(AsioPlainHttp, ServerServesPageAndWebSocketOnOnePortAndRefusesBeforeUpgrade) {
  ::asio::io_context io;
  ServerOptions options;
  options.http = page_answer;
  options.accept = [](const ws::UpgradeRequest& request) {
    if (request.path == "/echo") return AcceptDecision{};
    AcceptDecision refusal = AcceptDecision::reject(400, "bad channel name\n");
    refusal.headers.push_back({"Content-Type", "text/plain"});
    return refusal;
  };
  Server server(io.get_executor(), options);
  ASSERT_EQ(server.listen(loopback_any_port()), std::error_code{});

  // GET / is the page; any other path the handler's 404.
  for (const auto& [request, status] :
       {std::pair<std::string_view, std::string_view>{kGetPage, "HTTP/1.1 200"},
        {"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404"}}) {
    tcp::socket socket(io);
    socket.connect(server.local_endpoint());
    const std::string response = exchange_raw(io, socket, request);
    EXPECT_EQ(response.rfind(status, 0), 0U) << response;
  }

  // An upgrade the accept handler refuses gets its status, no 101.
  tcp::socket refused(io);
  refused.connect(server.local_endpoint());
  std::string request = ws::test::valid_upgrade_request();
  const std::size_t path = request.find(' ') + 1;
  request.replace(path, request.find(' ', path) - path, "/channel/bad%20name");
  const std::string refusal = exchange_raw(io, refused, request);
  refused.close();  // else the server lingers, waiting for this end of the stream
  EXPECT_EQ(refusal.rfind("HTTP/1.1 400", 0), 0U) << refusal;
  EXPECT_NE(refusal.find("bad channel name\n"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("Content-Type: text/plain\r\n"), std::string::npos) << refusal;

  // The same port upgrades /echo and echoes.
  tcp::socket socket(io);
  socket.connect(server.local_endpoint());
  TcpStream client(std::move(socket));
  OptionalError connected;
  client.async_handshake(
      "ws://127.0.0.1:" + std::to_string(server.local_endpoint().port()) + "/echo",
      [&](std::error_code error) { connected = error; });
  ASSERT_TRUE(run_until(io, [&] { return connected.has_value(); }));
  ASSERT_EQ(*connected, std::error_code{});
  OptionalError sent;
  client.async_write_text("after the page", [&](std::error_code error) { sent = error; });
  ReadOutcome reply;
  read_into(client, reply);
  ASSERT_TRUE(run_until(io, [&] { return sent && reply.done(); }));
  EXPECT_EQ(reply.payload, "after the page");

  // The answered connections are gone; only the WebSocket one is left.
  EXPECT_TRUE(run_until(io, [&] { return server.connection_count() == 1; }));
}

}  // namespace
