// ResilientClient over real sockets on the epoll loop and on blocking
// threads (ws/posix/resilient_client.hpp), against a server whose paths
// redirect (301 relative, 307 absolute, 302 to itself, 308 to another
// origin), refuse or close with 1012: the chain is followed to the end, the
// limit ends the loop, credentials do not cross origins, a dropped
// connection is made again and the application gets the new session.
#include <gtest/gtest.h>

#include <thread>

#include "resilient_test_server.hpp"
#include "ws/posix/resilient_client.hpp"

namespace ws::posix::epoll_test {
namespace {

bool contains(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

// ---- Epoll ---------------------------------------------------------------------

struct EpollRun {
  LoopThread runner;
  std::shared_ptr<ResilientClient> client;
  ~EpollRun() {
    runner.stop();
    client.reset();  // after the loop stopped (it owns an EpollWatch)
  }
};

TEST(EpollResilientClient, FollowsARedirectChainToTheEnd) {
  RedirectingServer server;
  ResilienceLog log;
  EpollRun run;
  run.client = start_resilient(run.runner.loop(), server.url("/hop1"), log.handler(), log.events(),
                               ResilientOptions{});
  run.runner.start();
  ASSERT_TRUE(eventually([&] { return log.received().size() == 1; }, 5000ms));
  EXPECT_EQ(server.seen_paths(), (std::vector<std::string>{"/hop1", "/hop2", "/final"}));
  const std::vector<std::string> lines = log.snapshot();
  EXPECT_TRUE(contains(lines, "redirect 301 " + server.url("/hop2")));
  EXPECT_TRUE(contains(lines, "redirect 307 " + server.url("/final")));
  EXPECT_FALSE(contains(lines, "rejected 301"));  // a followed refusal is not shown
  run.client->stop();
  ASSERT_TRUE(eventually([&] { return log.finished(); }, 5000ms));
  EXPECT_EQ(log.gave_up->reason, GiveUpReason::closed_by_application);
}

TEST(EpollResilientClient, TheLimitEndsARedirectLoop) {
  RedirectingServer server;
  ResilienceLog log;
  EpollRun run;
  ResilientOptions options = fast_reconnect();  // a loop is final even when reconnecting
  options.supervisor.redirects.max_redirects = 3;
  run.client =
      start_resilient(run.runner.loop(), server.url("/loop"), log.handler(), log.events(), options);
  run.runner.start();
  ASSERT_TRUE(eventually([&] { return log.finished(); }, 5000ms));
  EXPECT_EQ(log.gave_up->error, make_error_code(redirect_errc::too_many_redirects));
  EXPECT_EQ(server.seen_paths().size(), 4U);  // the first request and three redirects
  EXPECT_EQ(log.open_count(), 0);
}

TEST(EpollResilientClient, DropsCredentialsAcrossOrigins) {
  RedirectingServer server;
  ResilienceLog log;
  EpollRun run;
  EpollClientOptions options;
  options.handshake.extra_headers = {{"Authorization", "Bearer secret"}};
  run.client = start_resilient(run.runner.loop(), server.url("/other-origin"), log.handler(),
                               log.events(), ResilientOptions{}, options);
  run.runner.start();
  ASSERT_TRUE(eventually([&] { return log.received().size() == 1; }, 5000ms));
  // 127.0.0.1 and localhost are different origins (RFC 6454 compares hosts
  // as strings): the second request goes without the credentials.
  EXPECT_EQ(server.seen_authorization(), (std::vector<std::string>{"Bearer secret", ""}));
  run.client->stop();
}

TEST(EpollResilientClient, ReconnectsAfterTheServerCloses) {
  RedirectingServer server(2);  // the first two connections are closed with 1012
  ResilienceLog log;
  EpollRun run;
  run.client = start_resilient(run.runner.loop(), server.url("/flaky"), log.handler(), log.events(),
                               fast_reconnect());
  run.runner.start();
  ASSERT_TRUE(eventually([&] { return log.received().size() == 1; }, 5000ms));
  const std::vector<std::string> lines = log.snapshot();
  EXPECT_TRUE(contains(lines, "reconnecting 1 closed with 1012"));
  EXPECT_TRUE(contains(lines, "reconnecting 2 closed with 1012"));
  EXPECT_TRUE(contains(lines, "reconnected 2"));
  EXPECT_EQ(log.open_count(), 3);
  EXPECT_NE(run.client->session(), nullptr);
  run.client->stop();
  ASSERT_TRUE(eventually([&] { return log.finished(); }, 5000ms));
}

TEST(EpollResilientClient, RetriesARefusedConnectThenGivesUp) {
  // A port nobody listens on: every connect is refused (1006).
  std::uint16_t closed_port = 0;
  {
    RedirectingServer gone;
    closed_port = gone.port();
  }
  ResilienceLog log;
  EpollRun run;
  ResilientOptions options = fast_reconnect();
  options.supervisor.reconnect_settings.max_attempts = 3;
  run.client =
      start_resilient(run.runner.loop(), "ws://127.0.0.1:" + std::to_string(closed_port) + "/",
                      log.handler(), log.events(), options);
  run.runner.start();
  ASSERT_TRUE(eventually([&] { return log.finished(); }, 5000ms));
  EXPECT_EQ(log.gave_up->reason, GiveUpReason::attempts_exhausted);
  EXPECT_EQ(log.gave_up->attempts, 3U);
  EXPECT_TRUE(contains(log.snapshot(), "reconnecting 3 closed with 1006: Connection refused"));
}

TEST(EpollResilientClient, AStatusThatIsNotRetriedIsShownAndFinal) {
  RedirectingServer server;
  ResilienceLog log;
  EpollRun run;
  run.client = start_resilient(run.runner.loop(), server.url("/forbidden"), log.handler(),
                               log.events(), fast_reconnect());
  run.runner.start();
  ASSERT_TRUE(eventually([&] { return log.finished(); }, 5000ms));
  EXPECT_TRUE(contains(log.snapshot(), "rejected 403"));
  EXPECT_EQ(log.gave_up->reason, GiveUpReason::http_status);
}

// ---- Blocking threads ---------------------------------------------------------------

TEST(BlockingResilientClient, FollowsRedirectsAndReconnects) {
  RedirectingServer server(1);
  ResilienceLog log;
  Handler handler = log.handler();
  BlockingResilientClient client(server.url("/hop1"), handler, log.events(), fast_reconnect());
  std::thread thread([&] { (void)client.run(); });
  const bool echoed = eventually([&] { return log.received().size() == 1; }, 5000ms);
  client.stop();
  thread.join();
  ASSERT_TRUE(echoed) << ::testing::PrintToString(log.snapshot());
  EXPECT_EQ(server.seen_paths(), (std::vector<std::string>{"/hop1", "/hop2", "/final"}));
  EXPECT_EQ(log.gave_up->reason, GiveUpReason::closed_by_application);

  RedirectingServer flaky(2);
  ResilienceLog again;
  BlockingResilientClient reconnecting(flaky.url("/flaky"), again.handler(), again.events(),
                                       fast_reconnect());
  std::thread second([&] { (void)reconnecting.run(); });
  ASSERT_TRUE(eventually([&] { return again.received().size() == 1; }, 5000ms));
  EXPECT_TRUE(contains(again.snapshot(), "reconnected 2"));
  reconnecting.stop();
  second.join();
  EXPECT_EQ(again.gave_up->reason, GiveUpReason::closed_by_application);
}

TEST(BlockingResilientClient, StopEndsAWait) {
  std::uint16_t closed_port = 0;
  {
    RedirectingServer gone;
    closed_port = gone.port();
  }
  ResilienceLog log;
  ResilientOptions options;
  options.supervisor.reconnect = true;
  options.supervisor.reconnect_settings.initial_delay = std::chrono::seconds(60);
  BlockingResilientClient client("ws://127.0.0.1:" + std::to_string(closed_port) + "/",
                                 log.handler(), log.events(), options);
  std::thread thread([&] { (void)client.run(); });
  ASSERT_TRUE(eventually([&] { return log.snapshot().size() == 1; }, 5000ms));  // reconnecting
  const auto before = std::chrono::steady_clock::now();
  client.stop();
  thread.join();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
  EXPECT_EQ(log.gave_up->reason, GiveUpReason::closed_by_application);
}

}  // namespace
}  // namespace ws::posix::epoll_test
