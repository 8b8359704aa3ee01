// Loopback plumbing shared by the Asio adapter tests: connected socket
// pairs, running an io_context until a condition holds (bounded in time),
// opened Stream pairs, and a raw peer that speaks bytes.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "support/frames.hpp"
#include "support/handshake_text.hpp"
#include "ws/asio/stream.hpp"

namespace ws::asio::test {

using ::asio::ip::tcp;
using Bytes = std::vector<std::byte>;

/// Every wait in these tests gives up after this long.
inline constexpr std::chrono::seconds kTestDeadline{20};

struct SocketPair {
  tcp::socket server;
  tcp::socket client;
};

/// A connected pair of TCP sockets on 127.0.0.1.
inline SocketPair connect_pair(::asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(::asio::ip::address_v4::loopback(), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  return SocketPair{std::move(server), std::move(client)};
}

/// Runs handlers until `done()` holds; false when the deadline passed first.
inline bool run_until(::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = kTestDeadline) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  io.restart();
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.run_one_for(std::chrono::milliseconds(20));
    if (io.stopped()) io.restart();
  }
  return true;
}

inline std::string url_for(const tcp::socket& server_socket, const std::string& path = "/chat") {
  return "ws://127.0.0.1:" + std::to_string(server_socket.local_endpoint().port()) + path;
}

/// The outcome of one async_read, filled in by its callback.
struct ReadOutcome {
  std::string payload;
  std::optional<std::error_code> error;
  MessageKind kind = MessageKind::binary;

  bool done() const { return error.has_value(); }
};

template <class S>
void read_into(S& stream, ReadOutcome& outcome) {
  outcome.error.reset();
  stream.async_read(outcome.payload, [&outcome](std::error_code error, MessageKind kind) {
    outcome.error = error;
    outcome.kind = kind;
  });
}

/// A server and a client Stream with their handshake done.
struct OpenPair {
  TcpStream server;
  TcpStream client;
};

inline OpenPair open_pair(::asio::io_context& io, StreamOptions server_options = {},
                          StreamOptions client_options = {}) {
  SocketPair sockets = connect_pair(io);
  const std::string url = url_for(sockets.server);
  OpenPair pair{TcpStream(std::move(sockets.server), std::move(server_options)),
                TcpStream(std::move(sockets.client), std::move(client_options))};
  std::optional<std::error_code> accepted;
  std::optional<std::error_code> connected;
  pair.server.async_accept([&](std::error_code error) { accepted = error; });
  pair.client.async_handshake(url, [&](std::error_code error) { connected = error; });
  EXPECT_TRUE(run_until(io, [&] { return accepted && connected; }));
  EXPECT_EQ(accepted.value_or(std::error_code{}), std::error_code{});
  EXPECT_EQ(connected.value_or(std::error_code{}), std::error_code{});
  return pair;
}

/// Raw peer: writes all of `bytes` (any Asio stream: TCP or TLS).
template <class Socket>
void raw_write(::asio::io_context& io, Socket& socket, std::string_view bytes) {
  std::optional<std::error_code> written;
  ::asio::async_write(socket, ::asio::buffer(bytes.data(), bytes.size()),
                      [&](std::error_code error, std::size_t) { written = error; });
  EXPECT_TRUE(run_until(io, [&] { return written.has_value(); }));
  EXPECT_EQ(written.value_or(std::error_code{}), std::error_code{});
}

/// Raw peer: reads up to and with the empty line that ends an HTTP head.
/// Returns the head; bytes read past it stay in `extra`.
template <class Socket>
std::string raw_read_head(::asio::io_context& io, Socket& socket, std::string& extra) {
  std::optional<std::error_code> read;
  std::size_t head_size = 0;
  ::asio::async_read_until(socket, ::asio::dynamic_buffer(extra), "\r\n\r\n",
                           [&](std::error_code error, std::size_t n) {
                             read = error;
                             head_size = n;
                           });
  EXPECT_TRUE(run_until(io, [&] { return read.has_value(); }));
  std::string head = extra.substr(0, head_size);
  extra.erase(0, head_size);
  return head;
}

/// Raw peer: writes the upgrade request of tests/support and reads the
/// response head.
template <class Socket>
std::string raw_client_handshake(::asio::io_context& io, Socket& socket, std::string& extra) {
  raw_write(io, socket, ws::test::valid_upgrade_request());
  return raw_read_head(io, socket, extra);
}

/// Raw peer: reads until `bytes` hold at least `count` whole frames.
template <class Socket>
std::vector<ws::test::ParsedFrame> raw_read_frames(::asio::io_context& io, Socket& socket,
                                                   Bytes& bytes, std::size_t count) {
  std::vector<ws::test::ParsedFrame> frames;
  const auto parsed_enough = [&] {
    try {
      frames = ws::test::parse_frames(bytes);
      return frames.size() >= count;
    } catch (const std::exception&) {
      return false;  // a frame is still incomplete
    }
  };
  bool failed = false;
  std::function<void()> read_more = [&] {
    if (parsed_enough()) return;
    auto chunk = std::make_shared<std::array<std::byte, 4096>>();
    socket.async_read_some(::asio::buffer(*chunk), [&, chunk](std::error_code error,
                                                              std::size_t n) {
      if (error) {
        failed = true;
        return;
      }
      bytes.insert(bytes.end(), chunk->begin(), chunk->begin() + static_cast<std::ptrdiff_t>(n));
      read_more();
    });
  };
  read_more();
  if (!run_until(io, [&] { return failed || parsed_enough(); })) {
    ADD_FAILURE() << "frames did not arrive in time";
    socket.lowest_layer().close();  // the pending read must not outlive this frame
    io.restart();
    io.poll();
  }
  return frames;
}

}  // namespace ws::asio::test
