// ws::asio::Server against hostile and slow peers (issue 15), over real
// sockets on 127.0.0.1 with the io_context on a thread of its own:
//   - a peer that floods frames completing no message must not starve the
//     other connections of the io_context (a fairness budget per turn);
//   - an echo the output bound cannot take is never dropped silently: the
//     sender is told (send_text returns errc::output_queue_full) and the
//     connection is closed
//     with the slow-subscriber policy's code (1013);
//   - a peer that never reads is closed after the write timeout and what it
//     held is released.
// The suite name ends in Threads, so the ThreadSanitizer build runs it.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "loopback.hpp"
#include "support/frames.hpp"
#include "support/handshake_text.hpp"
#include "ws/asio/server.hpp"
#include "ws/asio/stream.hpp"

namespace {

using namespace ws::asio::test;
using namespace std::chrono_literals;
using ws::MessageKind;
using ws::Opcode;
using ws::asio::Server;
using ws::asio::ServerHandlers;
using ws::asio::ServerOptions;
using ws::asio::TcpStream;
using Clock = std::chrono::steady_clock;

tcp::endpoint loopback_any_port() { return {::asio::ip::address_v4::loopback(), 0}; }

// The server's io_context, run by one thread of its own for the test.
class ServerThread {
 public:
  ServerThread() : guard_(io.get_executor()) {}
  ~ServerThread() { stop(); }
  void start() {
    thread_ = std::thread([this] { io.run(); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    guard_.reset();
    io.stop();
    thread_.join();
  }

  ::asio::io_context io;

 private:
  ::asio::executor_work_guard<::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// A blocking raw client: connects with a small receive buffer, upgrades.
tcp::socket raw_client(::asio::io_context& io, const tcp::endpoint& server,
                       int receive_buffer = 0) {
  tcp::socket socket(io);
  socket.open(tcp::v4());
  if (receive_buffer > 0)
    socket.set_option(::asio::socket_base::receive_buffer_size(receive_buffer));
  socket.connect(server);
  ::asio::write(socket, ::asio::buffer(ws::test::valid_upgrade_request()));
  std::string head;
  ::asio::read_until(socket, ::asio::dynamic_buffer(head), "\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 101", 0), 0U) << head;
  EXPECT_EQ(head.find("\r\n\r\n") + 4, head.size()) << "no frame may follow the 101 yet";
  return socket;
}

void set_receive_timeout(tcp::socket& socket, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// Frames as a client reads them, parsed incrementally.
struct FrameReader {
  std::vector<std::byte> bytes;
  std::size_t text_frames = 0;
  std::vector<std::size_t> sequence;  // the number each text frame starts with
  std::optional<std::uint16_t> close_code;

  // Parses the whole frames in `bytes`, keeps the rest.
  void parse() {
    std::size_t at = 0;
    for (;;) {
      if (bytes.size() - at < 2) break;
      const auto b0 = static_cast<unsigned>(bytes[at]);
      const auto b1 = static_cast<unsigned>(bytes[at + 1]);
      std::size_t header = 2;
      std::uint64_t length = b1 & 0x7FU;
      if (length == 126) {
        if (bytes.size() - at < 4) break;
        length =
            (static_cast<unsigned>(bytes[at + 2]) << 8U) | static_cast<unsigned>(bytes[at + 3]);
        header = 4;
      } else if (length == 127) {
        if (bytes.size() - at < 10) break;
        length = 0;
        for (std::size_t i = 0; i < 8; ++i) {
          length = (length << 8U) | static_cast<unsigned>(bytes[at + 2 + i]);
        }
        header = 10;
      }
      if (bytes.size() - at < header + length) break;
      const unsigned opcode = b0 & 0x0FU;
      if (opcode == 0x1) {
        ++text_frames;
        std::size_t number = 0;
        for (std::size_t i = 0; i < length && i < 8; ++i) {
          number = number * 10 + (static_cast<unsigned>(bytes[at + header + i]) - '0');
        }
        sequence.push_back(number);
      }
      if (opcode == 0x8 && length >= 2) {
        close_code = static_cast<std::uint16_t>((static_cast<unsigned>(bytes[at + header]) << 8U) |
                                                static_cast<unsigned>(bytes[at + header + 1]));
      }
      at += header + static_cast<std::size_t>(length);
    }
    bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
  }
};

// While one connection floods empty continuation frames after an unfinished
// first fragment (no message ever completes, so no handler runs), another
// client's handshake and an echo come back within 200 ms.
TEST(AsioFairnessThreads, AFloodOfFramesCompletingNoMessageDoesNotStarveOthers) {
  ServerThread server_io;
  Server server(server_io.io.get_executor(), ServerOptions{});
  ASSERT_EQ(server.listen(loopback_any_port()), std::error_code{});
  const tcp::endpoint endpoint = server.local_endpoint();
  server_io.start();

  std::atomic<bool> flooding{false};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> flooded{0};
  std::thread flooder([&] {
    ::asio::io_context io;
    tcp::socket socket = raw_client(io, endpoint);
    ::asio::write(socket, ::asio::buffer(ws::test::client_frame(Opcode::text, "a", false)));
    // Empty masked continuation frames (FIN=0), 6 bytes each.
    std::vector<std::byte> chunk(6 * 10000);
    for (std::size_t i = 0; i < chunk.size(); i += 6) chunk[i + 1] = std::byte{0x80};
    const auto until = Clock::now() + 1200ms;
    flooding = true;
    while (!stop && Clock::now() < until) {
      std::error_code error;
      flooded += ::asio::write(socket, ::asio::buffer(chunk), error);
      if (error) break;
    }
    flooding = false;
    std::error_code ignored;
    socket.close(ignored);
  });
  while (!flooding) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(100ms);  // the server is busy with the flood now

  ::asio::io_context io;
  const auto started = Clock::now();
  tcp::socket socket(io);
  socket.connect(endpoint);
  TcpStream client(std::move(socket));
  std::optional<std::error_code> connected;
  client.async_handshake("ws://127.0.0.1:" + std::to_string(endpoint.port()) + "/",
                         [&](std::error_code error) { connected = error; });
  EXPECT_TRUE(run_until(
      io, [&] { return connected.has_value(); }, 3000ms));
  const auto handshake_time = Clock::now() - started;
  std::optional<std::error_code> sent;
  client.async_write_text("hello", [&](std::error_code error) { sent = error; });
  ReadOutcome reply;
  read_into(client, reply);
  EXPECT_TRUE(run_until(
      io, [&] { return sent && reply.done(); }, 3000ms));
  const auto echo_time = Clock::now() - started;
  const bool still_flooding = flooding;
  stop = true;
  flooder.join();

  EXPECT_EQ(connected.value_or(ws::errc::not_open), std::error_code{});
  EXPECT_EQ(reply.error.value_or(ws::errc::not_open), std::error_code{});
  EXPECT_EQ(reply.payload, "hello");
  EXPECT_TRUE(still_flooding) << "the flood ended before the echo: the test proves nothing";
  EXPECT_GT(flooded.load(), 1000000U) << "the flood was too slow to test anything";
  EXPECT_LT(handshake_time, 200ms)
      << "handshake took "
      << std::chrono::duration_cast<std::chrono::milliseconds>(handshake_time).count() << " ms";
  EXPECT_LT(echo_time, 200ms)
      << "handshake and echo took "
      << std::chrono::duration_cast<std::chrono::milliseconds>(echo_time).count() << " ms";
  server_io.stop();
}

// The echo server of ws-echo with a small output bound (the output limit and
// the high-water mark equal), and a client that sends while it reads
// nothing: every echo the server accepted arrives, and one it could not
// take is refused to the handler and closes the connection with 1013, never
// lost without a word.
TEST(AsioFairnessThreads, AnEchoTheOutputBoundCannotTakeClosesWith1013AndTellsTheSender) {
  constexpr std::size_t kBound = 64 * 1024;
  constexpr std::size_t kMessages = 200;
  constexpr std::size_t kMessageSize = 16 * 1024;
  ServerOptions options;
  options.stream.config.limits.max_queued_output = kBound;
  options.stream.backpressure.high_water = kBound;
  options.stream.backpressure.low_water = kBound / 4;
  std::atomic<std::size_t> accepted{0};
  std::atomic<std::size_t> refused{0};
  std::atomic<bool> closed{false};
  std::atomic<int> close_sent_code{0};
  ServerHandlers handlers;
  handlers.on_message = [&](const std::shared_ptr<ws::asio::Session>& session, MessageKind,
                            std::string& payload) {
    if (!session->send_text(payload)) {
      ++accepted;
    } else {
      ++refused;
    }
  };
  handlers.on_close = [&](const std::shared_ptr<ws::asio::Session>&,
                          const ws::asio::CloseInfo& info) {
    close_sent_code = static_cast<int>(info.sent_code);
    closed = true;
  };
  ServerThread server_io;
  Server server(server_io.io.get_executor(), options, handlers);
  ASSERT_EQ(server.listen(loopback_any_port()), std::error_code{});
  server_io.start();

  ::asio::io_context io;
  tcp::socket socket = raw_client(io, server.local_endpoint(), 4096);
  std::thread writer([&] {
    for (std::size_t i = 0; i < kMessages; ++i) {
      std::string payload = std::to_string(10000000 + i).substr(0, 8);
      payload.resize(kMessageSize, 'x');
      const std::vector<std::byte> message = ws::test::client_frame(Opcode::text, payload);
      std::error_code error;
      ::asio::write(socket, ::asio::buffer(message), error);
      if (error) break;
    }
  });
  writer.join();  // the server read it all (or closed): nothing was read yet
  std::this_thread::sleep_for(100ms);

  // Now read until the close frame, the end of the stream or a quiet spell.
  set_receive_timeout(socket, 500ms);
  FrameReader reader;
  const auto deadline = Clock::now() + 4s;
  while (!reader.close_code && Clock::now() < deadline) {
    std::array<std::byte, 65536> chunk{};
    const ssize_t n = ::recv(socket.native_handle(), chunk.data(), chunk.size(), 0);
    if (n <= 0) break;
    reader.bytes.insert(reader.bytes.end(), chunk.begin(), chunk.begin() + n);
    reader.parse();
  }

  EXPECT_EQ(reader.text_frames, accepted.load()) << "every accepted echo arrives";
  // What arrives is the first echoes, none missing: once one is refused the
  // connection closes and takes no more.
  std::size_t gaps = 0;
  for (std::size_t i = 0; i < reader.sequence.size(); ++i) {
    if (reader.sequence[i] != 10000000 + i) ++gaps;
  }
  EXPECT_EQ(gaps, 0U) << "echoes lost between delivered ones, " << reader.sequence.size()
                      << " delivered, " << refused.load() << " refused";
  EXPECT_GT(refused.load(), 0U) << "the bound was never reached: the test proves nothing";
  if (refused.load() > 0) {
    EXPECT_EQ(reader.close_code, std::optional<std::uint16_t>(1013))
        << refused.load() << " echoes were refused, " << accepted.load()
        << " delivered, and the client got no 1013 close";
  }
  std::error_code ignored;
  socket.close(ignored);
  const auto close_deadline = Clock::now() + 2s;
  while (!closed && Clock::now() < close_deadline) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(closed.load());
  EXPECT_EQ(close_sent_code.load(), 1013);
  server_io.stop();
}

// A peer that never reads: once the output makes no progress for the write
// timeout the connection is closed (on_close says timed_out) and the server
// lets go of it.
TEST(AsioFairnessThreads, APeerThatNeverReadsIsClosedAfterTheWriteTimeoutAndReleased) {
  ServerOptions options;
  options.stream.write_stall_timeout = 300ms;
  std::mutex mutex;
  std::weak_ptr<ws::asio::Session> held;
  std::optional<std::error_code> close_error;
  ServerHandlers handlers;
  handlers.on_open = [&](const std::shared_ptr<ws::asio::Session>& session,
                         const ws::UpgradeRequest&) {
    {
      std::lock_guard lock(mutex);
      held = session;
    }
    const std::string block(64 * 1024, 'y');
    for (int i = 0; i < 64; ++i) {
      EXPECT_EQ(session->send_binary(ws::as_bytes(block)), std::error_code{});
    }
  };
  handlers.on_close = [&](const std::shared_ptr<ws::asio::Session>&,
                          const ws::asio::CloseInfo& info) {
    std::lock_guard lock(mutex);
    close_error = info.error;
  };
  ServerThread server_io;
  Server server(server_io.io.get_executor(), options, handlers);
  ASSERT_EQ(server.listen(loopback_any_port()), std::error_code{});
  server_io.start();

  ::asio::io_context io;
  tcp::socket socket = raw_client(io, server.local_endpoint(), 4096);
  const auto started = Clock::now();
  const auto released = [&] {
    std::lock_guard lock(mutex);
    return close_error.has_value() && held.expired() && server.connection_count() == 0;
  };
  while (!released() && Clock::now() < started + 3s) std::this_thread::sleep_for(5ms);
  const auto took = Clock::now() - started;
  EXPECT_TRUE(released()) << "the stalled connection is still held";
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(close_error.value_or(std::error_code{}), std::make_error_code(std::errc::timed_out));
  }
  server_io.stop();
}

}  // namespace
