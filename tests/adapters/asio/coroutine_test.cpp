// ws::asio::Stream with C++20 coroutines (asio::use_awaitable): an echo
// server and a client exchange messages from 0 bytes to 16 MiB over
// loopback TCP.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <string>
#include <vector>

#include "loopback.hpp"
#include "ws/asio/stream.hpp"

namespace {

using namespace ws::asio::test;
using ws::CloseCode;
using ws::errc;
using ws::MessageKind;
using ws::asio::TcpStream;

// Sizes around every length encoding (RFC 6455 5.2: 7-bit, 16-bit, 64-bit)
// up to the default message limit of 16 MiB.
const std::vector<std::size_t> kSizes = {0,     1,     125,         126,
                                         65535, 65536, 1024 * 1024, 16 * 1024 * 1024};

std::string pattern(std::size_t size) {
  std::string text(size, '\0');
  for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 26);
  return text;
}

::asio::awaitable<void> echo_server(TcpStream& stream, std::error_code& ended) {
  co_await stream.async_accept(::asio::use_awaitable);
  std::string payload;
  for (;;) {
    std::error_code error;
    const MessageKind kind =
        co_await stream.async_read(payload, ::asio::redirect_error(::asio::use_awaitable, error));
    if (error) {
      ended = error;
      co_return;
    }
    co_await stream.async_write(kind, ws::as_bytes(payload), ::asio::use_awaitable);
  }
}

::asio::awaitable<void> client(TcpStream& stream, std::string url, std::vector<bool>& matched,
                               std::error_code& closed) {
  co_await stream.async_handshake(url, ::asio::use_awaitable);
  std::string reply;
  for (std::size_t size : kSizes) {
    const std::string message = pattern(size);
    const MessageKind kind = size % 2 == 0 ? MessageKind::binary : MessageKind::text;
    co_await stream.async_write(kind, ws::as_bytes(message), ::asio::use_awaitable);
    const MessageKind got = co_await stream.async_read(reply, ::asio::use_awaitable);
    matched.push_back(got == kind && reply == message);
  }
  co_await stream.async_close(CloseCode::normal, "done",
                              ::asio::redirect_error(::asio::use_awaitable, closed));
}

TEST(AsioCoroutine, EchoesMessagesFromEmptyToSixteenMebibytes) {
  ::asio::io_context io;
  SocketPair sockets = connect_pair(io);
  const std::string url = url_for(sockets.server);
  TcpStream server(std::move(sockets.server));
  TcpStream client_stream(std::move(sockets.client));

  std::error_code server_end;
  std::error_code client_closed = make_error_code(errc::not_open);
  std::vector<bool> matched;
  int finished = 0;
  const auto on_done = [&](std::exception_ptr failure) {
    ++finished;
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "coroutine failed: " << e.what();
      }
    }
  };
  ::asio::co_spawn(io, echo_server(server, server_end), on_done);
  ::asio::co_spawn(io, client(client_stream, url, matched, client_closed), on_done);
  ASSERT_TRUE(run_until(
      io, [&] { return finished == 2; }, std::chrono::seconds(60)));
  ASSERT_EQ(matched.size(), kSizes.size());
  for (std::size_t i = 0; i < kSizes.size(); ++i) {
    EXPECT_TRUE(matched[i]) << kSizes[i] << " bytes";
  }
  EXPECT_EQ(client_closed, std::error_code{});
  EXPECT_EQ(server_end, errc::connection_closed);
  EXPECT_EQ(server.close_info().reason, "done");
}

TEST(AsioCoroutine, FailuresArriveAsExceptions) {
  ::asio::io_context io;
  OpenPair pair = open_pair(io);
  std::string what;
  ::asio::co_spawn(
      io,
      [&]() -> ::asio::awaitable<void> {
        std::string payload;
        try {
          co_await pair.server.async_read(payload, ::asio::use_awaitable);
        } catch (const std::system_error& e) {
          what = e.code() == errc::unexpected_eof ? "unexpected_eof" : e.code().message();
        }
      },
      [](std::exception_ptr) {});
  pair.client.next_layer().close();  // the client vanishes
  ASSERT_TRUE(run_until(io, [&] { return !what.empty(); }));
  EXPECT_EQ(what, "unexpected_eof");
}

}  // namespace
