// Other threads use sessions while the loop thread runs them. The suite
// names end in "Threads" so the ThreadSanitizer tree selects them.
#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "epoll_test_support.hpp"

namespace ws::posix::epoll_test {
namespace {

// "t<thread>:<n>" -> (thread, n)
std::pair<int, int> parse_tag(std::string_view text) {
  const std::size_t colon = text.find(':');
  return {std::stoi(std::string(text.substr(1, colon - 1))),
          std::stoi(std::string(text.substr(colon + 1)))};
}

TEST(EpollSendThreads, ServerSendsFromManyThreadsArriveInOrderPerThread) {
  constexpr int threads = 4;
  constexpr int per_thread = 500;
  Recorder client_recorder;  // outlives the loop
  ServerFixture fixture(EpollServerOptions{}, /*echo=*/false);
  EpollClient client(fixture.runner.loop());
  ASSERT_TRUE(client.connect(fixture.url(), client_recorder.handler()));
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  const EpollSessionPtr session = fixture.recorder.session();

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

TEST(EpollSendThreads, ClientSendsFromAnotherThreadWhileTheLoopReads) {
  Recorder client_recorder;
  ServerFixture fixture;  // echoes
  EpollClient client(fixture.runner.loop());
  Result<EpollSessionPtr> session = client.connect(fixture.url(), client_recorder.handler());
  ASSERT_TRUE(session);
  std::thread sender([&] {
    for (int n = 0; n < 1000; ++n) {
      while ((*session)->send_text("t0:" + std::to_string(n))) std::this_thread::yield();
    }
  });
  sender.join();
  ASSERT_TRUE(eventually([&] { return client_recorder.message_count() == 1000; }));
  int expected = 0;
  for (const OwnedEvent& message : client_recorder.messages()) {
    EXPECT_EQ(parse_tag(message.text()).second, expected++);
  }
}

TEST(EpollSendThreads, CloseFromAnotherThreadComesAfterTheMessagesSentBefore) {
  Recorder client_recorder;  // outlives the loop
  ServerFixture fixture(EpollServerOptions{}, /*echo=*/false);
  EpollClient client(fixture.runner.loop());
  ASSERT_TRUE(client.connect(fixture.url(), client_recorder.handler()));
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  const EpollSessionPtr session = fixture.recorder.session();
  std::thread closer([&] {
    for (int n = 0; n < 100; ++n) session->send_text("t0:" + std::to_string(n));
    session->close(CloseCode::going_away, "bye");
    EXPECT_EQ(session->send_text("late"), make_error_code(errc::not_open));
  });
  closer.join();
  ASSERT_TRUE(eventually([&] { return client_recorder.close_count() == 1; }));
  EXPECT_EQ(client_recorder.message_count(), 100u);
  EXPECT_EQ(client_recorder.closes()[0].code, CloseCode::going_away);
}

TEST(EpollSendThreads, AbortFromAnotherThreadEndsTheConnection) {
  Recorder client_recorder;
  ServerFixture fixture;
  EpollClient client(fixture.runner.loop());
  ASSERT_TRUE(client.connect(fixture.url(), client_recorder.handler()));
  ASSERT_TRUE(eventually([&] { return fixture.recorder.open_count() == 1; }));
  std::thread aborter([&] { fixture.recorder.session()->abort(); });
  aborter.join();
  ASSERT_TRUE(eventually([&] { return fixture.recorder.close_count() == 1; }));
  EXPECT_EQ(fixture.recorder.closes()[0].error, std::errc::operation_canceled);
  ASSERT_TRUE(eventually([&] { return client_recorder.close_count() == 1; }));
  EXPECT_EQ(client_recorder.closes()[0].code, CloseCode::abnormal);
}

TEST(EpollLoopThreads, PostRunsTasksInOrderOnTheLoopThread) {
  LoopThread runner;
  runner.start();
  std::mutex mutex;
  std::vector<int> order;
  std::atomic<int> off_thread{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < 3; ++t) {
    posters.emplace_back([&, t] {
      for (int n = 0; n < 100; ++n) {
        runner.loop().post([&, t, n] {
          if (!runner.loop().in_loop_thread()) off_thread.fetch_add(1);
          std::lock_guard lock(mutex);
          order.push_back(t * 1000 + n);
        });
      }
    });
  }
  for (std::thread& poster : posters) poster.join();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return order.size() == 300;
  }));
  EXPECT_EQ(off_thread.load(), 0);
  std::map<int, int> next;
  std::lock_guard lock(mutex);
  for (const int tag : order) EXPECT_EQ(tag % 1000, next[tag / 1000]++);
}

TEST(EpollLoopThreads, StopFromAnotherThreadEndsRun) {
  EpollLoop loop;
  std::atomic<bool> returned{false};
  std::thread runner([&] {
    EXPECT_FALSE(loop.run());
    returned = true;
  });
  std::thread stopper([&] { loop.stop(); });
  stopper.join();
  EXPECT_TRUE(eventually([&] { return returned.load(); }));
  runner.join();
}

}  // namespace
}  // namespace ws::posix::epoll_test
