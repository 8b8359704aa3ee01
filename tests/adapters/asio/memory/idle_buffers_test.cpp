// An idle Asio stream gives its buffers back (StreamOptions::
// release_idle_buffers_after): once a connection has had no traffic for that
// long, with every byte written and a read waiting on the socket, the
// Connection frees its empty input, message and output buffers. Nothing may be
// lost: the next message arrives whole. Measured with a global operator new
// that counts the bytes alive, so this is a binary of its own.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "../../../allocation/counting_operator_new.hpp"
#include "../loopback.hpp"

namespace ws::asio {
namespace {

using namespace std::chrono_literals;
using test::OpenPair;
using test::ReadOutcome;

constexpr std::size_t message_size = 256 * 1024;

/// Runs handlers for `how_long`, whatever they do.
void run_for(::asio::io_context& io, std::chrono::milliseconds how_long) {
  (void)test::run_until(
      io, [] { return false; }, how_long);
}

/// Opens a pair, sends one large message from the client to a reading
/// server, then leaves the server with a read pending and measures the bytes
/// alive just after the message and again after running `idle` longer. Finally checks that a
/// second message still arrives whole. Returns how many bytes were freed.
std::size_t bytes_freed_while_idle(Duration release_after, std::chrono::milliseconds idle) {
  ::asio::io_context io;
  StreamOptions server_options;
  server_options.release_idle_buffers_after = release_after;
  StreamOptions client_options;
  client_options.release_idle_buffers_after = Duration{0};
  OpenPair pair = test::open_pair(io, server_options, client_options);

  const std::string payload(message_size, 'x');
  ReadOutcome first;
  test::read_into(pair.server, first);
  std::optional<std::error_code> sent;
  pair.client.async_write_binary(as_bytes(payload), [&](std::error_code error) { sent = error; });
  EXPECT_TRUE(test::run_until(io, [&] { return first.done() && sent.has_value(); }));
  EXPECT_EQ(first.error.value_or(std::error_code{}), std::error_code{});
  EXPECT_EQ(first.payload.size(), message_size);
  std::string().swap(first.payload);  // the test's own copy is not the stream's

  // Measured before any handler runs again: nothing can be released while
  // the io_context is not running, however late this thread gets here.
  ReadOutcome second;
  test::read_into(pair.server, second);
  const std::size_t busy = ws::test::live_bytes.load();
  run_for(io, idle);
  const std::size_t idle_bytes = ws::test::live_bytes.load();

  const std::string again(1000, 'y');
  pair.client.async_write_text(again, [](std::error_code) {});
  EXPECT_TRUE(test::run_until(io, [&] { return second.done(); }));
  EXPECT_EQ(second.error.value_or(std::error_code{}), std::error_code{});
  EXPECT_EQ(second.payload, again);
  EXPECT_EQ(second.kind, MessageKind::text);
  return busy > idle_bytes ? busy - idle_bytes : 0;
}

TEST(AsioIdleBuffers, AnIdleStreamFreesWhatTheLastMessageGrew) {
  // The message buffer grew to hold 256 KiB; after 100 ms of silence it goes.
  EXPECT_GE(bytes_freed_while_idle(Duration{100}, 400ms), message_size);
}

TEST(AsioIdleBuffers, ZeroKeepsTheBuffers) {
  EXPECT_LT(bytes_freed_while_idle(Duration{0}, 400ms), message_size / 4);
}

TEST(AsioIdleBuffers, NotBeforeTheConnectionWasIdleThatLong) {
  EXPECT_LT(bytes_freed_while_idle(Duration{5000}, 300ms), message_size / 4);
}

}  // namespace
}  // namespace ws::asio
