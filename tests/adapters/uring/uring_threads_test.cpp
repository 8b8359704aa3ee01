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

// The core guarantee. The peer's window is 4 KiB and it reads nothing at
// first, so the server's send stays in the kernel while its handler echoes
// message after message into the connection's output arena, which grows
// (and would be compacted) meanwhile: the bytes in flight must not move.
// Other threads add prepared messages (queued by reference) in between.
// Then the peer reads everything, and every byte must be the one sent.
TEST(UringSendThreads, SendsWhileAWriteIsInFlightArriveIntact) {
  WS_REQUIRE_URING();
  UringServerOptions options;
  options.backpressure.high_water = 64 * 1024 * 1024;  // no pause, no policy in the way
  options.backpressure.low_water = 16 * 1024 * 1024;
  options.config.limits.max_queued_output = 128 * 1024 * 1024;
  ServerFixture fixture(std::move(options), /*echo=*/true);
  // Small socket buffers, set before the connect so the window is small.
  posix::test::RawClient peer(fixture.port(), /*socket_buffer_bytes=*/4096);
  ASSERT_EQ(peer.handshake().rfind("HTTP/1.1 101 ", 0), 0u);
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  const SessionPtr session = fixture.recorder.session();

  // Message m of sender t: "t<t>:<m>:" then bytes that depend on both.
  auto make = [](int t, int m) {
    const std::size_t size = 16 + static_cast<std::size_t>((m * 7919 + t * 104729) % 30000);
    std::string text = "t" + std::to_string(t) + ":" + std::to_string(m) + ":";
    for (std::size_t i = text.size(); i < size; ++i) {
      text.push_back(static_cast<char>('a' + (i * 31 + static_cast<std::size_t>(t * 7 + m)) % 26));
    }
    return text;
  };
  constexpr int echoed = 300;  // sender 0: the peer, echoed by the handler
  constexpr int threads = 2;   // senders 1 and 2: other threads
  constexpr int per_thread = 30;
  std::vector<std::thread> senders;
  for (int t = 1; t <= threads; ++t) {
    senders.emplace_back([&, t] {
      for (int m = 0; m < per_thread; ++m) {
        EXPECT_FALSE(session->send_text(make(t, m)));
        std::this_thread::sleep_for(2ms);
      }
    });
  }
  for (int m = 0; m < echoed; ++m) peer.send(ws::test::client_frame(Opcode::text, make(0, m)));
  for (std::thread& sender : senders) sender.join();
  ASSERT_TRUE(eventually([&] { return fixture.recorder.message_count() == echoed; }));
  std::this_thread::sleep_for(50ms);

  std::map<int, int> next;
  for (int i = 0; i < echoed + threads * per_thread; ++i) {
    std::optional<OwnedEvent> event = peer.next_event();
    ASSERT_TRUE(event) << i;
    const std::string text = event->text();
    const auto [t, m] = parse_tag(text.substr(0, text.find(':', text.find(':') + 1)));
    EXPECT_EQ(m, next[t]++) << "sender " << t;
    ASSERT_TRUE(text == make(t, m)) << "sender " << t << " message " << m << " differs";
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
