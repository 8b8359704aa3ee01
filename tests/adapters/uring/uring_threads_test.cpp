// Other threads use sessions while the loop thread runs them, and sends
// keep coming while a send is in the kernel: the connection's output must
// stay where the kernel reads it (Driver::mark_output_in_flight). The
// suite names end in "Threads" so the ThreadSanitizer tree selects them;
// under AddressSanitizer a byte moved under the kernel shows as corrupt
// data here, a freed one as a report.
#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "../posix/blocking_test_support.hpp"
#include "uring_test_support.hpp"

namespace ws::uring::test {
namespace {

// "t<thread>:<n>" -> (thread, n)
std::pair<int, int> parse_tag(std::string_view text) {
  const std::size_t colon = text.find(':');
  return {std::stoi(std::string(text.substr(1, colon - 1))),
          std::stoi(std::string(text.substr(colon + 1)))};
}

TEST(UringSendThreads, ServerSendsFromManyThreadsArriveInOrderPerThread) {
  WS_REQUIRE_URING();
  constexpr int threads = 4;
  constexpr int per_thread = 500;
  Recorder client_recorder;  // outlives the loops
  ServerFixture fixture(UringServerOptions{}, /*echo=*/false);
  LoopThread client_loop;
  client_loop.start();
  UringClient client(client_loop.loop());
  ASSERT_TRUE(client.connect(fixture.url(), client_recorder.handler()));
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  const SessionPtr session = fixture.recorder.session();

  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t) {
    senders.emplace_back([&, t] {
      for (int n = 0; n < per_thread; ++n) {
        while (session->send_text("t" + std::to_string(t) + ":" + std::to_string(n))) {
          std::this_thread::yield();  // over the limit for a moment: try again
        }
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  ASSERT_TRUE(eventually(
      [&] { return client_recorder.message_count() == std::size_t{threads * per_thread}; }));
  std::map<int, int> next;
  for (const OwnedEvent& message : client_recorder.messages()) {
    const auto [thread, n] = parse_tag(message.text());
    EXPECT_EQ(n, next[thread]++) << "thread " << thread;
  }
}

// The core guarantee. The peer reads nothing at first, so the server's
// first large send stays in the kernel (the socket buffer is full) while
// other threads queue more: the connection's output arena must grow
// without moving the bytes in flight. Then the peer reads everything, and
// every byte must be the one sent.
TEST(UringSendThreads, SendsWhileAWriteIsInFlightArriveIntact) {
  WS_REQUIRE_URING();
  UringServerOptions options;
  options.backpressure.high_water = 64 * 1024 * 1024;  // no policy in the way
  options.backpressure.low_water = 16 * 1024 * 1024;
  options.config.limits.max_queued_output = 128 * 1024 * 1024;
  ServerFixture fixture(std::move(options), /*echo=*/false);
  // Small socket buffers, set before the connect so the window is small.
  posix::test::RawClient peer(fixture.port(), /*socket_buffer_bytes=*/4096);
  ASSERT_EQ(peer.handshake().rfind("HTTP/1.1 101 ", 0), 0u);
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  const SessionPtr session = fixture.recorder.session();

  // Message m of thread t: "t<t>:<m>:" then bytes that depend on both.
  auto make = [](int t, int m, std::size_t size) {
    std::string text = "t" + std::to_string(t) + ":" + std::to_string(m) + ":";
    for (std::size_t i = text.size(); i < size; ++i) {
      text.push_back(static_cast<char>('a' + (i * 31 + static_cast<std::size_t>(t * 7 + m)) % 26));
    }
    return text;
  };
  constexpr int threads = 3;
  constexpr int per_thread = 40;
  ASSERT_FALSE(session->send_text(make(9, 0, 2 << 20)));  // fills the socket, stays in flight
  std::this_thread::sleep_for(50ms);
  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t) {
    senders.emplace_back([&, t] {
      for (int m = 0; m < per_thread; ++m) {
        // Sizes that make the arena grow again and again.
        const std::size_t size = 100 + static_cast<std::size_t>((m * 7919 + t * 104729) % 60000);
        EXPECT_FALSE(session->send_text(make(t, m, size)));
        if (m % 8 == 0) std::this_thread::sleep_for(1ms);
      }
    });
  }
  for (std::thread& sender : senders) sender.join();

  std::optional<OwnedEvent> first = peer.next_event();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->text(), make(9, 0, 2 << 20));
  std::map<int, int> next;
  for (int i = 0; i < threads * per_thread; ++i) {
    std::optional<OwnedEvent> event = peer.next_event();
    ASSERT_TRUE(event) << i;
    const std::string text = event->text();
    const auto [t, m] = parse_tag(text.substr(0, text.find(':', text.find(':') + 1)));
    EXPECT_EQ(m, next[t]++) << "thread " << t;
    const std::size_t size = 100 + static_cast<std::size_t>((m * 7919 + t * 104729) % 60000);
    ASSERT_EQ(text, make(t, m, size)) << "thread " << t << " message " << m;
  }
  EXPECT_EQ(fixture.runner.loop().stats().stale_completions, 0u);
}

TEST(UringSendThreads, CloseFromAnotherThreadComesAfterTheMessagesSentBefore) {
  WS_REQUIRE_URING();
  Recorder client_recorder;
  ServerFixture fixture(UringServerOptions{}, /*echo=*/false);
  UringClient client(fixture.runner.loop());
  ASSERT_TRUE(client.connect(fixture.url(), client_recorder.handler()));
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  const SessionPtr session = fixture.recorder.session();
  std::thread closer([&] {
    for (int n = 0; n < 100; ++n) ASSERT_FALSE(session->send_text("m" + std::to_string(n)));
    ASSERT_FALSE(session->close(4000, "done"));
  });
  closer.join();
  ASSERT_TRUE(eventually([&] { return client_recorder.close_count() == 1; }));
  EXPECT_EQ(client_recorder.message_count(), 100u);
  EXPECT_EQ(static_cast<int>(client_recorder.closes()[0].code), 4000);
  EXPECT_TRUE(eventually([&] { return fixture.server->connection_count() == 0; }));
}

TEST(UringLoopThreads, PostRunsTasksInOrderOnTheLoopThread) {
  WS_REQUIRE_URING();
  LoopThread runner;
  runner.start();
  std::mutex mutex;
  std::vector<int> order;
  std::atomic<int> wrong_thread{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&, t] {
      for (int n = 0; n < 250; ++n) {
        runner.loop().post([&, t, n] {
          if (!runner.loop().in_loop_thread()) ++wrong_thread;
          std::lock_guard lock(mutex);
          order.push_back(t * 1000 + n);
        });
      }
    });
  }
  for (std::thread& poster : posters) poster.join();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return order.size() == 1000;
  }));
  EXPECT_EQ(wrong_thread, 0);
  std::map<int, int> last;
  std::lock_guard lock(mutex);
  for (const int value : order) {
    const int t = value / 1000;
    if (last.count(t) != 0) {
      EXPECT_LT(last[t], value % 1000);
    }
    last[t] = value % 1000;
  }
}

TEST(UringLoopThreads, StopFromAnotherThreadEndsRun) {
  WS_REQUIRE_URING();
  UringLoop loop;
  std::atomic<bool> returned{false};
  std::error_code result = std::make_error_code(std::errc::io_error);
  std::thread runner([&] {
    result = loop.run();
    returned = true;
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(returned);
  loop.stop();
  runner.join();
  EXPECT_FALSE(result);
  EXPECT_FALSE(loop.in_loop_thread());
}

}  // namespace
}  // namespace ws::uring::test
