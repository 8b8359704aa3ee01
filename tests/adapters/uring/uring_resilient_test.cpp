// ResilientClient on the io_uring loop (ws/uring/resilient_client.hpp), and
// the timer it waits with (UringLoop::post_after), against the redirecting
// server of the POSIX tests: a redirect chain, a reconnection after the
// server closed with 1012, refused connects until the attempts run out.
#include <gtest/gtest.h>

#include "../posix/resilient_test_server.hpp"
#include "uring_test_support.hpp"
#include "ws/uring/resilient_client.hpp"

namespace ws::uring::test {
namespace {

using posix::epoll_test::fast_reconnect;
using posix::epoll_test::RedirectingServer;
using posix::epoll_test::ResilienceLog;

bool contains(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

// post_after never runs a task early, and runs them in time order.
TEST(UringLoopPostAfter, RunsTasksAfterTheirDelay) {
  WS_REQUIRE_URING();
  LoopThread runner;
  std::mutex mutex;
  std::vector<int> order;
  std::vector<std::chrono::steady_clock::duration> waited;
  const auto start = std::chrono::steady_clock::now();
  for (const int ms : {30, 10, 20}) {
    runner.loop().post_after(std::chrono::milliseconds(ms), [&, ms] {
      std::lock_guard lock(mutex);
      order.push_back(ms);
      waited.push_back(std::chrono::steady_clock::now() - start);
    });
  }
  runner.start();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return order.size() == 3;
  }));
  EXPECT_EQ(order, (std::vector<int>{10, 20, 30}));
  EXPECT_GE(waited.front(), std::chrono::milliseconds(10));
  EXPECT_GE(waited.back(), std::chrono::milliseconds(30));
}

TEST(UringResilientClient, FollowsRedirectsAndReconnects) {
  WS_REQUIRE_URING();
  RedirectingServer server;
  ResilienceLog log;
  LoopThread runner;
  const std::shared_ptr<ResilientClient> client = start_resilient(
      runner.loop(), server.url("/hop1"), log.handler(), log.events(), fast_reconnect());
  runner.start();
  ASSERT_TRUE(eventually([&] { return log.received().size() == 1; }, 5000ms));
  EXPECT_EQ(server.seen_paths(), (std::vector<std::string>{"/hop1", "/hop2", "/final"}));
  client->stop();
  ASSERT_TRUE(eventually([&] { return log.finished(); }, 5000ms));

  RedirectingServer flaky(2);
  ResilienceLog again;
  const std::shared_ptr<ResilientClient> reconnecting = start_resilient(
      runner.loop(), flaky.url("/flaky"), again.handler(), again.events(), fast_reconnect());
  ASSERT_TRUE(eventually([&] { return again.received().size() == 1; }, 5000ms));
  EXPECT_TRUE(contains(again.snapshot(), "reconnected 2"));
  reconnecting->stop();
  ASSERT_TRUE(eventually([&] { return again.finished(); }, 5000ms));
  EXPECT_EQ(again.gave_up->reason, GiveUpReason::closed_by_application);
}

TEST(UringResilientClient, GivesUpWhenAttemptsRunOut) {
  WS_REQUIRE_URING();
  std::uint16_t closed_port = 0;
  {
    RedirectingServer gone;
    closed_port = gone.port();
  }
  ResilienceLog log;
  LoopThread runner;
  ResilientOptions options = fast_reconnect();
  options.supervisor.reconnect_settings.max_attempts = 2;
  const std::shared_ptr<ResilientClient> client =
      start_resilient(runner.loop(), "ws://127.0.0.1:" + std::to_string(closed_port) + "/",
                      log.handler(), log.events(), options);
  runner.start();
  ASSERT_TRUE(eventually([&] { return log.finished(); }, 5000ms));
  EXPECT_EQ(log.gave_up->reason, GiveUpReason::attempts_exhausted);
  EXPECT_TRUE(contains(log.snapshot(), "reconnecting 2 closed with 1006: Connection refused"));
}

}  // namespace
}  // namespace ws::uring::test
