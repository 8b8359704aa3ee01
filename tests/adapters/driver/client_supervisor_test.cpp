// The decisions of a redirecting, reconnecting client (ws/driver/
// client_supervisor.hpp) with a clock that is a variable and a random
// source that is a script, and ResilientClient (ws/driver/
// resilient_client.hpp) over a fake transport whose connects and waits are
// recorded: delays grow under a cap with jitter inside it, attempts are
// bounded, a normal close is final, redirect chains are followed (and
// limited, and refused downward), credentials are dropped across origins.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ws/base/error.hpp"
#include "ws/driver/client_supervisor.hpp"
#include "ws/driver/resilient_client.hpp"

namespace ws {
namespace {

using namespace std::chrono_literals;

// Hands out the given values, eight big-endian bytes each, repeating the
// last one. The policy reduces a draw v to v mod (ceiling + 1): a script of
// the ceilings makes every delay its ceiling.
RandomSource scripted(std::vector<std::uint64_t> values) {
  auto next = std::make_shared<std::size_t>(0);
  auto script = std::make_shared<const std::vector<std::uint64_t>>(std::move(values));
  return [next, script](MutableByteView out) {
    const std::uint64_t value = (*script)[std::min(*next, script->size() - 1)];
    ++*next;
    for (std::size_t i = 0; i < out.size() && i < 8; ++i) {
      out[i] = static_cast<std::byte>((value >> (8U * (7U - i))) & 0xFFU);
    }
  };
}

RandomSource always(std::uint64_t value) { return scripted({value}); }

RandomSource seeded(std::uint64_t seed) {
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine](MutableByteView out) {
    for (std::byte& byte : out) byte = static_cast<std::byte>((*engine)() & 0xFFU);
  };
}

Closed peer_closed(CloseCode code) {
  Closed closed;
  closed.code = code;
  closed.sent_code = code;
  return closed;
}

Closed lost() {
  Closed closed;
  closed.error = make_error_code(errc::unexpected_eof);
  return closed;
}

Closed refused_upgrade() {
  Closed closed;
  closed.error = make_error_code(errc::unexpected_status);
  return closed;
}

Rejected redirect(int status, const std::vector<HttpHeader>& headers) {
  Rejected rejected;
  rejected.status = status;
  rejected.headers = headers;
  return rejected;
}

SupervisorSettings reconnecting() {
  SupervisorSettings settings;
  settings.reconnect = true;
  return settings;
}

const TimePoint t0{};

// Rule: the delay before attempt n is drawn from [0, min(cap, 250 ms *
// 2^(n-1))]; with the largest draw it is the ceiling itself, so the delays
// grow 250, 500, 1000 ... and stop at the 30 s cap.
TEST(ClientSupervisor, DelaysGrowToTheCap) {
  ClientSupervisor supervisor(
      "ws://a.example/", {}, reconnecting(),
      scripted({250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000}));
  ASSERT_EQ(supervisor.start().action, SupervisorAction::connect);
  std::vector<Duration> delays;
  TimePoint now = t0;
  for (int i = 0; i < 10; ++i) {
    const SupervisorStep step =
        supervisor.on_connect_failed(now, std::make_error_code(std::errc::connection_refused));
    ASSERT_EQ(step.action, SupervisorAction::wait);
    EXPECT_EQ(step.attempt, static_cast<std::uint32_t>(i + 1));
    EXPECT_EQ(step.end.error, std::make_error_code(std::errc::connection_refused));
    delays.push_back(step.delay);
    now += step.delay;
    ASSERT_EQ(supervisor.on_wait_over().action, SupervisorAction::connect);
  }
  const std::vector<Duration> expected{250ms,  500ms,   1000ms,  2000ms,  4000ms,
                                       8000ms, 16000ms, 30000ms, 30000ms, 30000ms};
  EXPECT_EQ(delays, expected);
}

// Full jitter: every delay lies within [0, ceiling], and they spread.
TEST(ClientSupervisor, JitterStaysWithinTheCeiling) {
  ClientSupervisor supervisor("ws://a.example/", {}, reconnecting(), seeded(7));
  (void)supervisor.start();
  bool below_half = false;
  for (std::uint32_t attempt = 1; attempt <= 200; ++attempt) {
    const SupervisorStep step = supervisor.on_closed(t0, lost());
    ASSERT_EQ(step.action, SupervisorAction::wait);
    const Duration ceiling = supervisor.policy().ceiling(attempt);
    EXPECT_GE(step.delay.count(), 0);
    EXPECT_LE(step.delay, ceiling);
    if (step.delay < ceiling / 2) below_half = true;
    (void)supervisor.on_wait_over();
  }
  EXPECT_TRUE(below_half);
}

TEST(ClientSupervisor, GivesUpAfterMaxAttempts) {
  SupervisorSettings settings = reconnecting();
  settings.reconnect_settings.max_attempts = 3;
  ClientSupervisor supervisor("ws://a.example/", {}, settings, always(0));
  (void)supervisor.start();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(supervisor.on_closed(t0, lost()).action, SupervisorAction::wait);
    ASSERT_EQ(supervisor.on_wait_over().action, SupervisorAction::connect);
  }
  const SupervisorStep last = supervisor.on_closed(t0, lost());
  EXPECT_EQ(last.action, SupervisorAction::give_up);
  EXPECT_EQ(last.reason, GiveUpReason::attempts_exhausted);
  EXPECT_EQ(last.attempt, 3U);
  EXPECT_TRUE(supervisor.finished());
}

// RFC 6455 7.4.1: 1000 means the purpose is fulfilled. Never retried.
TEST(ClientSupervisor, NoRetryAfterANormalClose) {
  ClientSupervisor supervisor("ws://a.example/", {}, reconnecting(), always(0));
  (void)supervisor.start();
  supervisor.on_open(t0);
  const SupervisorStep step = supervisor.on_closed(t0 + 1s, peer_closed(CloseCode::normal));
  EXPECT_EQ(step.action, SupervisorAction::give_up);
  EXPECT_EQ(step.reason, GiveUpReason::normal_close);
}

// A reconnecting client outlives the server's 1001 (a server going down,
// which is what ws's servers send at shutdown), 1006, 1011, 1012.
TEST(ClientSupervisor, RetriesAServerGoingAwayAndLostConnections) {
  for (const CloseCode code : {CloseCode::going_away, CloseCode::internal_error,
                               CloseCode::service_restart, CloseCode::try_again_later}) {
    ClientSupervisor supervisor("ws://a.example/", {}, reconnecting(), always(0));
    (void)supervisor.start();
    supervisor.on_open(t0);
    EXPECT_EQ(supervisor.on_closed(t0, peer_closed(code)).action, SupervisorAction::wait)
        << static_cast<int>(code);
  }
  ClientSupervisor supervisor("ws://a.example/", {}, reconnecting(), always(0));
  (void)supervisor.start();
  EXPECT_EQ(supervisor.on_closed(t0, lost()).action, SupervisorAction::wait);
}

// Without reconnect, an ending that would be retried gives up with
// reconnect_disabled; one that would not keeps the policy's reason.
TEST(ClientSupervisor, WithoutReconnectEveryEndIsFinal) {
  ClientSupervisor supervisor("ws://a.example/", {}, {}, always(0));
  (void)supervisor.start();
  const SupervisorStep step = supervisor.on_closed(t0, lost());
  EXPECT_EQ(step.action, SupervisorAction::give_up);
  EXPECT_EQ(step.reason, GiveUpReason::reconnect_disabled);
  ClientSupervisor normal("ws://a.example/", {}, {}, always(0));
  (void)normal.start();
  EXPECT_EQ(normal.on_closed(t0, peer_closed(CloseCode::normal)).reason,
            GiveUpReason::normal_close);
}

// A refused upgrade is judged by its status: 503 is retried, 403 is not.
TEST(ClientSupervisor, RefusalsAreJudgedByStatus) {
  ClientSupervisor supervisor("ws://a.example/", {}, reconnecting(), always(0));
  (void)supervisor.start();
  EXPECT_FALSE(supervisor.on_rejected(redirect(503, {})));
  const SupervisorStep retry = supervisor.on_closed(t0, refused_upgrade());
  EXPECT_EQ(retry.action, SupervisorAction::wait);
  EXPECT_EQ(retry.end.http_status, 503);
  (void)supervisor.on_wait_over();
  EXPECT_FALSE(supervisor.on_rejected(redirect(403, {})));
  const SupervisorStep final_step = supervisor.on_closed(t0, refused_upgrade());
  EXPECT_EQ(final_step.action, SupervisorAction::give_up);
  EXPECT_EQ(final_step.reason, GiveUpReason::http_status);
  EXPECT_EQ(final_step.end.http_status, 403);
}

// A chain A -> B -> C is followed at once, without a wait and without
// counting as reconnection attempts; a temporary redirect is forgotten by
// the next reconnection, a permanent one is kept.
TEST(ClientSupervisor, FollowsRedirectChains) {
  ClientSupervisor supervisor("ws://a.example/start", {}, reconnecting(), always(0));
  (void)supervisor.start();
  const std::vector<HttpHeader> to_b{{"Location", "ws://b.example/moved"}};
  ASSERT_TRUE(supervisor.on_rejected(redirect(301, to_b)));
  SupervisorStep step = supervisor.on_closed(t0, refused_upgrade());
  ASSERT_EQ(step.action, SupervisorAction::connect);
  EXPECT_EQ(step.target.url, "ws://b.example/moved");
  EXPECT_EQ(step.redirect_status, 301);
  EXPECT_EQ(step.attempt, 0U);
  const std::vector<HttpHeader> to_c{{"Location", "/temporary"}};
  ASSERT_TRUE(supervisor.on_rejected(redirect(307, to_c)));
  step = supervisor.on_closed(t0, refused_upgrade());
  ASSERT_EQ(step.action, SupervisorAction::connect);
  EXPECT_EQ(step.target.url, "ws://b.example/temporary");
  supervisor.on_open(t0);
  // The connection drops: back to the permanent target, not the temporary one.
  step = supervisor.on_closed(t0 + 1s, lost());
  ASSERT_EQ(step.action, SupervisorAction::wait);
  EXPECT_EQ(step.attempt, 1U);
  EXPECT_EQ(step.target.url, "ws://b.example/moved");
  EXPECT_EQ(supervisor.on_wait_over().target.url, "ws://b.example/moved");
}

// RFC 9110 15.4.2: a 301 speaks for the URL that answered it. In A -302-> B
// -301-> C, A moved only for now, so a reconnection goes back to A, not C.
TEST(ClientSupervisor, APermanentRedirectAfterATemporaryOneIsNotKept) {
  ClientSupervisor supervisor("ws://a.example/start", {}, reconnecting(), always(0));
  (void)supervisor.start();
  const std::vector<HttpHeader> to_b{{"Location", "ws://b.example/for-now"}};
  ASSERT_TRUE(supervisor.on_rejected(redirect(302, to_b)));
  SupervisorStep step = supervisor.on_closed(t0, refused_upgrade());
  const std::vector<HttpHeader> to_c{{"Location", "ws://c.example/moved"}};
  ASSERT_TRUE(supervisor.on_rejected(redirect(301, to_c)));
  step = supervisor.on_closed(t0, refused_upgrade());
  ASSERT_EQ(step.action, SupervisorAction::connect);
  EXPECT_EQ(step.target.url, "ws://c.example/moved");
  supervisor.on_open(t0);
  step = supervisor.on_closed(t0 + 1s, lost());
  ASSERT_EQ(step.action, SupervisorAction::wait);
  EXPECT_EQ(supervisor.on_wait_over().target.url, "ws://a.example/start");
}

// The limit counts redirects in a row within one attempt: the sixth is
// refused with too_many_redirects, and that is final (retrying would
// loop again).
TEST(ClientSupervisor, RedirectLoopsEndAtTheLimit) {
  ClientSupervisor supervisor("ws://a.example/loop", {}, reconnecting(), always(0));
  (void)supervisor.start();
  const std::vector<HttpHeader> self{{"Location", "/loop"}};
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(supervisor.on_rejected(redirect(302, self)));
    ASSERT_EQ(supervisor.on_closed(t0, refused_upgrade()).action, SupervisorAction::connect);
  }
  EXPECT_FALSE(supervisor.on_rejected(redirect(302, self)));
  const SupervisorStep step = supervisor.on_closed(t0, refused_upgrade());
  EXPECT_EQ(step.action, SupervisorAction::give_up);
  EXPECT_EQ(step.error, make_error_code(redirect_errc::too_many_redirects));
}

TEST(ClientSupervisor, ZeroRedirectsMeansTheRefusalStands) {
  SupervisorSettings settings;
  settings.redirects.max_redirects = 0;
  ClientSupervisor supervisor("ws://a.example/", {}, settings, always(0));
  (void)supervisor.start();
  const std::vector<HttpHeader> to_b{{"Location", "ws://b.example/"}};
  EXPECT_FALSE(supervisor.on_rejected(redirect(301, to_b)));
  const SupervisorStep step = supervisor.on_closed(t0, refused_upgrade());
  EXPECT_EQ(step.action, SupervisorAction::give_up);
  EXPECT_EQ(step.reason, GiveUpReason::http_status);
  EXPECT_EQ(step.end.http_status, 301);
}

TEST(ClientSupervisor, RefusesTheDowngrade) {
  ClientSupervisor supervisor("wss://a.example/", {}, reconnecting(), always(0));
  (void)supervisor.start();
  const std::vector<HttpHeader> down{{"Location", "ws://a.example/"}};
  EXPECT_FALSE(supervisor.on_rejected(redirect(308, down)));
  const SupervisorStep step = supervisor.on_closed(t0, refused_upgrade());
  EXPECT_EQ(step.action, SupervisorAction::give_up);
  EXPECT_EQ(step.error, make_error_code(redirect_errc::insecure_redirect));
}

TEST(ClientSupervisor, StripsCredentialsOnTheWayToAnotherOrigin) {
  ClientHandshakeOptions options;
  options.extra_headers = {{"Authorization", "Basic dTpw"}, {"Cookie", "s=1"}, {"X-A", "1"}};
  ClientSupervisor supervisor("ws://a.example/", options, reconnecting(), always(0));
  const SupervisorStep first = supervisor.start();
  EXPECT_EQ(first.target.handshake.extra_headers.size(), 3U);
  const std::vector<HttpHeader> same{{"Location", "/same"}};
  ASSERT_TRUE(supervisor.on_rejected(redirect(302, same)));
  SupervisorStep step = supervisor.on_closed(t0, refused_upgrade());
  EXPECT_EQ(step.target.handshake.extra_headers.size(), 3U);
  const std::vector<HttpHeader> other{{"Location", "ws://b.example/"}};
  ASSERT_TRUE(supervisor.on_rejected(redirect(302, other)));
  step = supervisor.on_closed(t0, refused_upgrade());
  ASSERT_EQ(step.target.handshake.extra_headers.size(), 1U);
  EXPECT_EQ(step.target.handshake.extra_headers[0].name, "X-A");
}

TEST(ClientSupervisor, StopEndsAWaitAndTheNextEnd) {
  ClientSupervisor waiting("ws://a.example/", {}, reconnecting(), always(0));
  (void)waiting.start();
  ASSERT_EQ(waiting.on_closed(t0, lost()).action, SupervisorAction::wait);
  const SupervisorStep stopped = waiting.stop();
  EXPECT_EQ(stopped.action, SupervisorAction::give_up);
  EXPECT_EQ(stopped.reason, GiveUpReason::closed_by_application);
  EXPECT_EQ(waiting.on_wait_over().action, SupervisorAction::none);

  ClientSupervisor open("ws://a.example/", {}, reconnecting(), always(0));
  (void)open.start();
  open.on_open(t0);
  EXPECT_EQ(open.stop().action, SupervisorAction::none);
  const SupervisorStep step = open.on_closed(t0, peer_closed(CloseCode::going_away));
  EXPECT_EQ(step.action, SupervisorAction::give_up);
  EXPECT_EQ(step.reason, GiveUpReason::closed_by_application);
}

TEST(ClientSupervisor, AnInvalidUrlGivesUpAtStart) {
  ClientSupervisor supervisor("http://a.example/", {}, reconnecting(), always(0));
  const SupervisorStep step = supervisor.start();
  EXPECT_EQ(step.action, SupervisorAction::give_up);
  EXPECT_EQ(step.error, make_error_code(errc::invalid_url));
}

TEST(ClientSupervisor, DescribesEndsForPeople) {
  ConnectionEnd end = ConnectionEnd::failed(std::make_error_code(std::errc::connection_refused));
  EXPECT_EQ(describe(end).rfind("closed with 1006: ", 0), 0U);
  EXPECT_EQ(describe(ConnectionEnd::from(peer_closed(CloseCode::going_away))), "closed with 1001");
  end = {};
  end.http_status = 503;
  EXPECT_EQ(describe(end), "refused with HTTP 503");
}

// ---- ResilientClient over a fake transport ------------------------------------

struct FakeTransport {
  struct Connect {
    ConnectTarget target;
    Handler handler;
  };
  std::vector<Connect> connects;
  std::vector<Duration> waits;
  std::function<void()> pending_wait;
  std::vector<std::error_code> connect_results;  // consumed in order; empty: success
  TimePoint now{};

  ResilientClient::Hooks hooks() {
    ResilientClient::Hooks hooks;
    hooks.connect = [this](const ConnectTarget& target, Handler handler) {
      connects.push_back(Connect{target, std::move(handler)});
      if (connect_results.empty()) return std::error_code{};
      const std::error_code result = connect_results.front();
      connect_results.erase(connect_results.begin());
      return result;
    };
    hooks.wait = [this](Duration delay, std::function<void()> then) {
      waits.push_back(delay);
      pending_wait = std::move(then);
    };
    hooks.post = [](std::function<void()> task) { task(); };
    hooks.now = [this] { return now; };
    return hooks;
  }
  void finish_wait() { std::exchange(pending_wait, nullptr)(); }
};

TEST(ResilientClient, ReportsReconnectingReconnectedAndGaveUp) {
  FakeTransport transport;
  std::vector<std::string> log;
  Handler handler;
  handler.on_open = [&](const SessionPtr&) { log.push_back("open"); };
  handler.on_close = [&](const SessionPtr&, const Closed& closed) {
    log.push_back("close " + std::to_string(static_cast<int>(closed.code)));
  };
  handler.on_rejected = [&](const SessionPtr&, const Rejected& r) {
    log.push_back("rejected " + std::to_string(r.status));
  };
  ResilienceEvents events;
  events.on_reconnecting = [&](const ReconnectingEvent& event) {
    log.push_back("reconnecting " + std::to_string(event.attempt) + " " + describe(event.end));
  };
  events.on_reconnected = [&](const SessionPtr&, std::uint32_t attempt) {
    log.push_back("reconnected " + std::to_string(attempt));
  };
  events.on_redirect = [&](std::string_view from, std::string_view to, int status) {
    log.push_back("redirect " + std::to_string(status) + " " + std::string(from) + " -> " +
                  std::string(to));
  };
  events.on_gave_up = [&](const GaveUpEvent& event) {
    log.push_back("gave up: " + std::string(describe(event.reason)));
  };
  ResilientOptions options;
  options.supervisor.reconnect = true;
  options.random = always(0);
  transport.connect_results = {{}, std::make_error_code(std::errc::connection_refused)};
  const auto client =
      ResilientClient::make("ws://a.example/", {}, handler, events, options, transport.hooks());
  client->start();
  ASSERT_EQ(transport.connects.size(), 1U);
  // The first connection is redirected: the application sees only the event.
  const std::vector<HttpHeader> to_b{{"Location", "ws://b.example/"}};
  transport.connects[0].handler.on_rejected(nullptr, redirect(302, to_b));
  transport.connects[0].handler.on_close(nullptr, refused_upgrade());
  // The redirect's connect fails at once (the second connect result).
  ASSERT_EQ(transport.connects.size(), 2U);
  EXPECT_EQ(transport.connects[1].target.url, "ws://b.example/");
  ASSERT_EQ(transport.waits.size(), 1U);
  transport.finish_wait();
  ASSERT_EQ(transport.connects.size(), 3U);
  EXPECT_EQ(transport.connects[2].target.url, "ws://a.example/");  // 302 is temporary
  transport.connects[2].handler.on_open(nullptr);
  transport.connects[2].handler.on_close(nullptr, peer_closed(CloseCode::normal));
  EXPECT_TRUE(client->finished());
  const std::vector<std::string> expected{
      "redirect 302 ws://a.example/ -> ws://b.example/",
      "reconnecting 1 closed with 1006: Connection refused",
      "open",
      "reconnected 1",
      "close 1000",
      "gave up: normal close",
  };
  EXPECT_EQ(log, expected);
}

TEST(ResilientClient, StopDuringAWaitGivesUpAtOnce) {
  FakeTransport transport;
  int gave_up = 0;
  ResilienceEvents events;
  events.on_gave_up = [&](const GaveUpEvent& event) {
    ++gave_up;
    EXPECT_EQ(event.reason, GiveUpReason::closed_by_application);
  };
  ResilientOptions options;
  options.supervisor.reconnect = true;
  options.random = always(0);
  const auto client =
      ResilientClient::make("ws://a.example/", {}, {}, events, options, transport.hooks());
  client->start();
  transport.connects[0].handler.on_close(nullptr, lost());
  ASSERT_TRUE(transport.pending_wait);
  client->stop();
  EXPECT_EQ(gave_up, 1);
  transport.finish_wait();  // void: no connect
  EXPECT_EQ(transport.connects.size(), 1U);
  EXPECT_EQ(gave_up, 1);
}

// A client that resumes a channel (docs/resume.md) reconnects with the last
// position it saw in the URL: on_connecting may rewrite every target.
TEST(ResilientClient, OnConnectingMayRewriteEachTarget) {
  FakeTransport transport;
  std::string last_position = "none";
  std::vector<std::uint32_t> attempts;
  ResilienceEvents events;
  events.on_connecting = [&](ConnectTarget& target, std::uint32_t attempt) {
    attempts.push_back(attempt);
    target.url += "?since=" + last_position;
  };
  ResilientOptions options;
  options.supervisor.reconnect = true;
  options.random = always(0);
  const auto client =
      ResilientClient::make("ws://a.example/channel/x", {}, {}, events, options, transport.hooks());
  client->start();
  ASSERT_EQ(transport.connects.size(), 1U);
  EXPECT_EQ(transport.connects[0].target.url, "ws://a.example/channel/x?since=none");
  transport.connects[0].handler.on_open(nullptr);
  last_position = "7-41";
  transport.connects[0].handler.on_close(nullptr, peer_closed(CloseCode::abnormal));
  transport.finish_wait();
  ASSERT_EQ(transport.connects.size(), 2U);
  // The rewrite starts from the supervisor's URL each time, not the last one.
  EXPECT_EQ(transport.connects[1].target.url, "ws://a.example/channel/x?since=7-41");
  EXPECT_EQ(attempts, (std::vector<std::uint32_t>{0, 1}));
  client->stop();
}

}  // namespace
}  // namespace ws
