// The reconnect policy (ws/driver/reconnect_policy.hpp) with a clock that is
// a variable and a random source that is a script: which endings are
// retried (RFC 6455 7.1.5, 7.4.1), how long the waits are (RFC 6455 7.2.3:
// a random, growing delay; full jitter under a capped exponential ceiling),
// how many attempts are made and when the backoff starts over.
#include "ws/driver/reconnect_policy.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "support/connection_pair.hpp"
#include "support/frames.hpp"
#include "ws/base/error.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using namespace std::chrono_literals;

// Hands out the given values, eight big-endian bytes each, repeating the
// last one when the script runs out. The policy reduces a value v to
// v mod (ceiling + 1), so a script of the expected ceilings makes every
// delay its ceiling and a script of zeros makes every delay zero.
RandomSource scripted(std::vector<std::uint64_t> values) {
  auto next = std::make_shared<std::size_t>(0);
  auto script = std::make_shared<const std::vector<std::uint64_t>>(std::move(values));
  return [next, script](MutableByteView out) {
    std::size_t at = 0;
    while (at < out.size()) {
      const std::size_t index = std::min(*next, script->size() - 1);
      ++*next;
      const std::uint64_t value = (*script)[index];
      for (int shift = 56; shift >= 0 && at < out.size(); shift -= 8) {
        out[at++] = static_cast<std::byte>((value >> static_cast<unsigned>(shift)) & 0xFFU);
      }
    }
  };
}

RandomSource always(std::uint64_t value) { return scripted({value}); }

// A seeded generator: deterministic, yet spread like a real source.
RandomSource seeded(std::uint64_t seed) {
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine](MutableByteView out) {
    for (std::byte& byte : out) byte = static_cast<std::byte>((*engine)() & 0xFFU);
  };
}

ConnectionEnd peer_closed(std::uint16_t code) {
  ConnectionEnd end;
  end.code = static_cast<CloseCode>(code);
  end.sent_code = end.code;  // the echo (RFC 6455 5.5.1)
  return end;
}

ConnectionEnd lost() {
  return ConnectionEnd::from(
      Closed{CloseCode::abnormal, {}, make_error_code(errc::unexpected_eof), CloseCode::abnormal});
}

// An error category of a layer the driver cannot see (ws::tls lives above
// it), whose handshake failures map to ws::condition::handshake_failed the
// way ws::tls::errc::handshake_failed does.
class FakeTlsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "fake.tls"; }
  std::string message(int) const override { return "TLS handshake failed"; }
  std::error_condition default_error_condition(int value) const noexcept override {
    if (value == 1) return make_error_condition(condition::handshake_failed);
    return {value, *this};
  }
};

const std::error_category& fake_tls() {
  static const FakeTlsCategory category;
  return category;
}

const TimePoint t0 = TimePoint{} + 1h;

// ---- Backoff ------------------------------------------------------------------

// The ceiling of attempt n is min(max_delay, initial_delay * multiplier^(n-1)):
// 250 ms doubling reaches the 30 s cap at the eighth attempt.
TEST(ReconnectBackoff, CeilingsDoubleFromTheInitialDelayUpToTheCap) {
  const ReconnectPolicy policy;
  const std::vector<Duration> expected{250ms,  500ms,   1000ms,  2000ms, 4000ms,
                                       8000ms, 16000ms, 30000ms, 30000ms};
  for (std::uint32_t attempt = 1; attempt <= expected.size(); ++attempt) {
    EXPECT_EQ(policy.ceiling(attempt), expected[attempt - 1]) << "attempt " << attempt;
  }
  EXPECT_EQ(policy.ceiling(1000), 30s);
  EXPECT_EQ(policy.ceiling(std::numeric_limits<std::uint32_t>::max()), 30s);
}

// With a random source at the top of each range the delays are the ceilings
// themselves: they grow exponentially, then stay at the cap.
TEST(ReconnectBackoff, DelaysGrowExponentiallyThenStopAtTheCap) {
  ReconnectPolicy policy({}, scripted({250, 500, 1000, 2000, 4000, 8000, 16000, 30000}));
  const std::vector<Duration> expected{250ms,  500ms,   1000ms,  2000ms,  4000ms,
                                       8000ms, 16000ms, 30000ms, 30000ms, 30000ms};
  TimePoint now = t0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const ReconnectDecision decision = policy.on_ended(now, lost());
    ASSERT_TRUE(decision.retry);
    EXPECT_EQ(decision.attempt, i + 1);
    EXPECT_EQ(decision.delay, expected[i]) << "attempt " << i + 1;
    EXPECT_EQ(decision.retry_at, now + decision.delay);
    now = decision.retry_at;
  }
}

// Full jitter includes zero: the lower end of every range is "at once".
TEST(ReconnectBackoff, ARandomSourceAtZeroGivesNoDelay) {
  ReconnectPolicy policy({}, always(0));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(policy.on_ended(t0, lost()).delay, 0ms);
}

// Full jitter: uniform over [0, ceiling]. A seeded source drawn 20,000 times
// at one ceiling fills the range: mean near half, both ends reached.
TEST(ReconnectBackoff, JitterSpreadsOverTheWholeRange) {
  ReconnectSettings settings;
  settings.initial_delay = 1000ms;
  settings.multiplier = 1.0;  // every attempt has the same 1 s ceiling
  ReconnectPolicy policy(settings, seeded(20));
  double sum = 0;
  std::int64_t low = 1000;
  std::int64_t high = 0;
  constexpr int draws = 20000;
  for (int i = 0; i < draws; ++i) {
    const auto ms = policy.on_ended(t0, lost()).delay.count();
    sum += static_cast<double>(ms);
    low = std::min<std::int64_t>(low, ms);
    high = std::max<std::int64_t>(high, ms);
  }
  // The mean of 20,000 uniform draws on [0, 1000] is 500 with a standard
  // error of about 2 ms: 15 ms of slack is more than seven of them.
  EXPECT_NEAR(sum / draws, 500.0, 15.0);
  EXPECT_LE(low, 5);
  EXPECT_GE(high, 995);
}

// The jitter bound as a property: for any settings and any random bytes,
// attempt n waits between 0 and min(max_delay, initial_delay *
// multiplier^(n-1)), and attempts count 1, 2, 3...
RC_GTEST_PROP(ReconnectBackoffProperties, EveryDelayIsWithinItsAttemptsCeiling, ()) {
  ReconnectSettings settings;
  settings.initial_delay = Duration(*rc::gen::inRange<std::int64_t>(0, 10'000));
  settings.max_delay = Duration(*rc::gen::inRange<std::int64_t>(0, 600'000));
  settings.multiplier = static_cast<double>(*rc::gen::inRange(100, 400)) / 100.0;
  const auto values = *rc::gen::nonEmpty(rc::gen::arbitrary<std::vector<std::uint64_t>>());
  const auto endings = *rc::gen::inRange(1, 60);
  ReconnectPolicy policy(settings, scripted(values));
  for (int n = 1; n <= endings; ++n) {
    const ReconnectDecision decision = policy.on_ended(t0, lost());
    RC_ASSERT(decision.retry);
    RC_ASSERT(decision.attempt == static_cast<std::uint32_t>(n));
    const double exponential =
        static_cast<double>(settings.initial_delay.count()) * std::pow(settings.multiplier, n - 1);
    const auto ms = decision.delay.count();
    RC_ASSERT(ms >= 0);
    RC_ASSERT(ms <= settings.max_delay.count());
    RC_ASSERT(static_cast<double>(ms) <= exponential);
    RC_ASSERT(decision.delay <= policy.ceiling(decision.attempt));
  }
}

// Settings out of range are read in the safe direction: a multiplier below
// 1 never shrinks the backoff, an initial delay above the cap is the cap,
// negative durations are zero.
TEST(ReconnectBackoff, SettingsOutOfRangeAreClamped) {
  ReconnectSettings shrinking;
  shrinking.multiplier = 0.5;
  EXPECT_EQ(ReconnectPolicy(shrinking).ceiling(5), 250ms);
  ReconnectSettings not_a_number;
  not_a_number.multiplier = std::nan("");
  EXPECT_EQ(ReconnectPolicy(not_a_number).ceiling(5), 250ms);
  ReconnectSettings above_cap;
  above_cap.initial_delay = 60s;
  EXPECT_EQ(ReconnectPolicy(above_cap).ceiling(1), 30s);
  ReconnectSettings negative;
  negative.initial_delay = Duration(-5);
  negative.max_delay = Duration(-1);
  EXPECT_EQ(ReconnectPolicy(negative).ceiling(3), 0ms);
  ReconnectSettings huge;
  huge.multiplier = 1e300;
  huge.max_delay = Duration::max();
  EXPECT_EQ(ReconnectPolicy(huge).ceiling(3), Duration::max());
}

// A non-integer multiplier grows the ceiling by that factor (truncated to
// whole milliseconds, never above the exact value).
TEST(ReconnectBackoff, AFractionalMultiplierGrowsByThatFactor) {
  ReconnectSettings settings;
  settings.initial_delay = 1000ms;
  settings.multiplier = 1.5;
  const ReconnectPolicy policy(settings);
  EXPECT_EQ(policy.ceiling(2), 1500ms);
  EXPECT_EQ(policy.ceiling(3), 2250ms);
  EXPECT_EQ(policy.ceiling(4), 3375ms);
}

// An empty random source means the system's, as in ws::Config.
TEST(ReconnectBackoff, WithoutARandomSourceTheSystemsIsUsed) {
  ReconnectPolicy policy;
  for (std::uint32_t n = 1; n <= 20; ++n) {
    const ReconnectDecision decision = policy.on_ended(t0, lost());
    ASSERT_TRUE(decision.retry);
    EXPECT_LE(decision.delay, policy.ceiling(n));
  }
}

// ---- Attempts and reset ------------------------------------------------------

// max_attempts bounds the reconnection attempts in a row: with 3, the
// fourth failure in a row gives up, reporting the three made.
TEST(ReconnectAttempts, MaxAttemptsIsHonoured) {
  ReconnectSettings settings;
  settings.max_attempts = 3;
  ReconnectPolicy policy(settings, always(0));
  for (std::uint32_t n = 1; n <= 3; ++n) {
    const ReconnectDecision decision = policy.on_ended(t0, lost());
    ASSERT_TRUE(decision.retry);
    EXPECT_EQ(decision.attempt, n);
  }
  const ReconnectDecision last = policy.on_ended(t0, lost());
  EXPECT_FALSE(last.retry);
  EXPECT_EQ(last.reason, GiveUpReason::attempts_exhausted);
  EXPECT_EQ(last.attempt, 3U);
  EXPECT_EQ(last.code, CloseCode::abnormal);
  // Giving up is stable until the application starts over.
  EXPECT_FALSE(policy.on_ended(t0, lost()).retry);
  policy.reset();
  const ReconnectDecision again = policy.on_ended(t0, lost());
  EXPECT_TRUE(again.retry);
  EXPECT_EQ(again.attempt, 1U);
}

// max_attempts 0 is no limit: the attempts go on, at the cap.
TEST(ReconnectAttempts, ZeroMeansUnlimitedAttempts) {
  ReconnectPolicy policy({}, always(std::numeric_limits<std::uint64_t>::max()));
  for (std::uint32_t n = 1; n <= 5000; ++n) {
    const ReconnectDecision decision = policy.on_ended(t0, lost());
    ASSERT_TRUE(decision.retry) << "attempt " << n;
    ASSERT_EQ(decision.attempt, n);
    ASSERT_LE(decision.delay, 30s);
  }
  EXPECT_EQ(policy.attempts(), 5000U);
}

// A connection that stayed open reset_after (30 s) resets the backoff: the
// next wait is attempt 1's again.
TEST(ReconnectAttempts, ALongEnoughConnectionResetsTheBackoff) {
  ReconnectPolicy policy({}, always(std::numeric_limits<std::uint64_t>::max()));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(policy.on_ended(t0, lost()).retry);
  EXPECT_EQ(policy.attempts(), 6U);
  policy.on_connected(t0);
  const ReconnectDecision decision = policy.on_ended(t0 + 30s, lost());
  ASSERT_TRUE(decision.retry);
  EXPECT_EQ(decision.attempt, 1U);
  EXPECT_LE(decision.delay, 250ms);
}

// Shorter than reset_after, an open connection is one more failed attempt:
// a server that accepts and drops at once still meets a growing backoff,
// and max_attempts still ends it.
TEST(ReconnectAttempts, AShortConnectionCountsAsAFailedAttempt) {
  ReconnectSettings settings;
  settings.max_attempts = 4;
  ReconnectPolicy policy(settings, always(0));
  TimePoint now = t0;
  for (std::uint32_t n = 1; n <= 4; ++n) {
    policy.on_connected(now);
    now += 29'999ms;
    const ReconnectDecision decision = policy.on_ended(now, peer_closed(1011));
    ASSERT_TRUE(decision.retry);
    EXPECT_EQ(decision.attempt, n);
  }
  policy.on_connected(now);
  const ReconnectDecision last = policy.on_ended(now + 1s, peer_closed(1011));
  EXPECT_FALSE(last.retry);
  EXPECT_EQ(last.reason, GiveUpReason::attempts_exhausted);
}

// reset_after zero turns the reset by duration off, as zero turns off a
// timeout in ws::Timeouts: only reset() starts over.
TEST(ReconnectAttempts, ResetAfterZeroNeverResetsOnItsOwn) {
  ReconnectSettings settings;
  settings.reset_after = 0ms;
  ReconnectPolicy policy(settings, always(0));
  ASSERT_TRUE(policy.on_ended(t0, lost()).retry);
  policy.on_connected(t0);
  EXPECT_EQ(policy.on_ended(t0 + 24h, lost()).attempt, 2U);
}

// on_ended without on_connected (the connect itself failed) has no open
// duration: nothing resets.
TEST(ReconnectAttempts, AFailedConnectNeverResets) {
  ReconnectPolicy policy({}, always(0));
  policy.on_connected(t0);
  ASSERT_EQ(policy.on_ended(t0 + 1s, lost()).attempt, 1U);
  const ConnectionEnd refused =
      ConnectionEnd::failed(make_error_code(std::errc::connection_refused));
  EXPECT_EQ(policy.on_ended(t0 + 1h, refused).attempt, 2U);
}

// ---- Which endings are retried -------------------------------------------------

// RFC 6455 7.4.1: 1000 means the purpose of the connection is fulfilled.
// Never retried, by the peer or by this side, even if listed.
TEST(ReconnectEndings, NoRetryAfterANormalClose) {
  ReconnectPolicy policy({}, always(0));
  ReconnectDecision decision = policy.on_ended(t0, peer_closed(1000));
  EXPECT_FALSE(decision.retry);
  EXPECT_EQ(decision.reason, GiveUpReason::normal_close);
  EXPECT_EQ(decision.code, CloseCode::normal);

  // This side closed with 1000 and the peer never answered: the close
  // timed out, or the stream ended. Still this side's normal close.
  for (errc error : {errc::close_timeout, errc::unexpected_eof}) {
    const ConnectionEnd end = ConnectionEnd::from(
        Closed{CloseCode::abnormal, {}, make_error_code(error), CloseCode::normal});
    decision = policy.on_ended(t0, end);
    EXPECT_FALSE(decision.retry);
    EXPECT_EQ(decision.reason, GiveUpReason::normal_close);
  }

  ReconnectSettings listing_1000;
  listing_1000.retryable_close_codes.push_back(1000);
  EXPECT_FALSE(classify_end(peer_closed(1000), listing_1000).retry);
  EXPECT_EQ(policy.attempts(), 0U);
}

// 1001 (going away) and 1005 (a close frame without a code) are deliberate
// closes unless the application lists them; 1001 may be listed.
TEST(ReconnectEndings, GoingAwayAndNoStatusAreNormalUnlessListed) {
  const ReconnectSettings defaults;
  for (const std::uint16_t code : std::vector<std::uint16_t>{1001, 1005}) {
    const ReconnectDecision decision = classify_end(peer_closed(code), defaults);
    EXPECT_FALSE(decision.retry) << code;
    EXPECT_EQ(decision.reason, GiveUpReason::normal_close) << code;
  }
  ReconnectSettings listing_1001;
  listing_1001.retryable_close_codes.push_back(1001);
  EXPECT_TRUE(classify_end(peer_closed(1001), listing_1001).retry);
}

// The application closed (or stopped) the connection: whatever the codes
// say, it wants no other.
TEST(ReconnectEndings, NoRetryAfterTheApplicationClosed) {
  ConnectionEnd end = lost();
  end.by_application = true;
  const ReconnectDecision decision = classify_end(end, {});
  EXPECT_FALSE(decision.retry);
  EXPECT_EQ(decision.reason, GiveUpReason::closed_by_application);
}

// RFC 6455 7.4.1 and the IANA registry: 1011 (server error), 1012 (service
// restart), 1013 (try again later) and 1014 (bad gateway) are transient.
TEST(ReconnectEndings, RetryAfterTransientCloseCodes) {
  for (const std::uint16_t code : std::vector<std::uint16_t>{1011, 1012, 1013, 1014}) {
    ReconnectPolicy policy({}, always(0));
    const ReconnectDecision decision = policy.on_ended(t0, peer_closed(code));
    EXPECT_TRUE(decision.retry) << code;
    EXPECT_EQ(decision.reason, GiveUpReason::none) << code;
    EXPECT_EQ(static_cast<std::uint16_t>(decision.code), code);
    EXPECT_EQ(decision.attempt, 1U);
  }
}

// RFC 6455 7.1.5: a connection lost without a close frame ended with 1006.
// Retried, whether the stream ended, the driver's write stall timed out or
// this side's idle timeout sent its 1001 to a silent peer.
TEST(ReconnectEndings, RetryAfterALostConnection) {
  const std::vector<ConnectionEnd> ends{
      lost(),
      ConnectionEnd::from(Closed{CloseCode::abnormal,
                                 {},
                                 std::make_error_code(std::errc::timed_out),
                                 CloseCode::abnormal}),
      ConnectionEnd::from(Closed{
          CloseCode::abnormal, {}, make_error_code(errc::idle_timeout), CloseCode::going_away}),
      ConnectionEnd{},  // nothing known at all
  };
  for (const ConnectionEnd& end : ends) {
    const ReconnectDecision decision = classify_end(end, {});
    EXPECT_TRUE(decision.retry) << end.error.message();
    EXPECT_EQ(decision.code, CloseCode::abnormal) << end.error.message();
  }
}

// A refused or failed connection is an end without a close frame (RFC 6455
// 7.1.5, 1006): refused, timed out, reset, unreachable, a name that did not
// resolve (ws::posix reports it as address_not_available), in the generic
// or the system category, and ws's own handshake timeout.
TEST(ReconnectEndings, RetryAfterARefusedOrFailedConnect) {
  const std::vector<std::error_code> errors{
      std::make_error_code(std::errc::connection_refused),
      std::make_error_code(std::errc::timed_out),
      std::make_error_code(std::errc::connection_reset),
      std::make_error_code(std::errc::host_unreachable),
      std::make_error_code(std::errc::network_unreachable),
      std::make_error_code(std::errc::address_not_available),
      std::error_code(ECONNREFUSED, std::system_category()),
      make_error_code(errc::handshake_timeout),
      make_error_code(errc::unexpected_eof),
  };
  for (const std::error_code& error : errors) {
    ReconnectPolicy policy({}, always(0));
    const ReconnectDecision decision = policy.on_ended(t0, ConnectionEnd::failed(error));
    EXPECT_TRUE(decision.retry) << error.message();
    EXPECT_EQ(decision.code, CloseCode::abnormal) << error.message();
    EXPECT_EQ(decision.attempt, 1U);
  }
}

// RFC 6455 7.4.1: 1015 names a failed TLS handshake. A layer's error that
// is equivalent to ws::condition::handshake_failed (ws::tls's) counts as
// 1015, retried by default and not when 1015 is taken off the list.
TEST(ReconnectEndings, AFailedTlsHandshakeCountsAs1015) {
  const ConnectionEnd end = ConnectionEnd::failed(std::error_code(1, fake_tls()));
  ReconnectDecision decision = classify_end(end, {});
  EXPECT_TRUE(decision.retry);
  EXPECT_EQ(decision.code, CloseCode::tls_handshake_failed);

  ReconnectSettings without_1015;
  without_1015.retryable_close_codes = {1006, 1011, 1012, 1013, 1014};
  decision = classify_end(end, without_1015);
  EXPECT_FALSE(decision.retry);
  EXPECT_EQ(decision.reason, GiveUpReason::close_code);
  EXPECT_EQ(decision.code, CloseCode::tls_handshake_failed);
}

// RFC 6455 7.4.1: 1002, 1003, 1007, 1008, 1009 and 1010 say the peers
// disagree on the protocol, the data or a policy; another connection would
// disagree again. Private codes (3000-4999) are the application's and are
// retried only when listed.
TEST(ReconnectEndings, NoRetryAfterAPermanentCloseCode) {
  for (const std::uint16_t code :
       std::vector<std::uint16_t>{1002, 1003, 1007, 1008, 1009, 1010, 3000, 4000, 4999}) {
    const ReconnectDecision decision = classify_end(peer_closed(code), {});
    EXPECT_FALSE(decision.retry) << code;
    EXPECT_EQ(decision.reason, GiveUpReason::close_code) << code;
    EXPECT_EQ(static_cast<std::uint16_t>(decision.code), code);
  }
  ReconnectSettings listing_4000;
  listing_4000.retryable_close_codes.push_back(4000);
  EXPECT_TRUE(classify_end(peer_closed(4000), listing_4000).retry);
}

// This side failed the connection (RFC 6455 7.1.7) because the peer broke
// the protocol or a limit: the code it sent (1002, 1007, 1009) decides,
// and the transport failure that may follow does not turn it into a 1006.
TEST(ReconnectEndings, NoRetryAfterThisSideFailedAMisbehavingPeer) {
  const std::vector<std::pair<errc, CloseCode>> failures{
      {errc::reserved_bits_set, CloseCode::protocol_error},
      {errc::invalid_utf8, CloseCode::invalid_payload},
      {errc::message_too_large, CloseCode::message_too_big},
  };
  for (const auto& [error, sent] : failures) {
    const ReconnectDecision decision = classify_end(
        ConnectionEnd::from(Closed{CloseCode::abnormal, {}, make_error_code(error), sent}), {});
    EXPECT_FALSE(decision.retry) << make_error_code(error).message();
    EXPECT_EQ(decision.reason, GiveUpReason::close_code);
    EXPECT_EQ(decision.code, sent);
  }
}

// A handshake refused with an HTTP status: 502, 503, 504 (a gateway or the
// server briefly unable to answer) and 429 (slow down) are retried; any
// other status gives up, the Closed's unexpected_status notwithstanding.
TEST(ReconnectEndings, RefusedHandshakesAreRetriedOnlyForTransientStatuses) {
  ConnectionEnd end = ConnectionEnd::from(Closed{
      CloseCode::abnormal, {}, make_error_code(errc::unexpected_status), CloseCode::abnormal});
  for (int status : {429, 502, 503, 504}) {
    end.http_status = status;
    const ReconnectDecision decision = classify_end(end, {});
    EXPECT_TRUE(decision.retry) << status;
  }
  for (int status : {200, 301, 302, 400, 401, 403, 404, 407, 426, 500, 501}) {
    end.http_status = status;
    const ReconnectDecision decision = classify_end(end, {});
    EXPECT_FALSE(decision.retry) << status;
    EXPECT_EQ(decision.reason, GiveUpReason::http_status) << status;
  }
}

// The server answered, and its answer broke RFC 6455 4.1 (a wrong
// Sec-WebSocket-Accept, an unrequested subprotocol) or HTTP: it would
// answer the same way again.
TEST(ReconnectEndings, NoRetryAfterAnInvalidHandshakeAnswer) {
  for (errc error :
       {errc::accept_mismatch, errc::missing_accept, errc::unexpected_subprotocol,
        errc::malformed_status_line, errc::invalid_extension_response, errc::unexpected_status}) {
    const ReconnectDecision decision =
        classify_end(ConnectionEnd::failed(make_error_code(error)), {});
    EXPECT_FALSE(decision.retry) << make_error_code(error).message();
    EXPECT_EQ(decision.reason, GiveUpReason::handshake_invalid);
  }
  // A URL that does not parse is in the same group; other ws errors are
  // not accidents of the network either.
  const ReconnectDecision bad_url =
      classify_end(ConnectionEnd::failed(make_error_code(errc::invalid_url)), {});
  EXPECT_FALSE(bad_url.retry);
  EXPECT_EQ(bad_url.reason, GiveUpReason::handshake_invalid);
  const ReconnectDecision queue =
      classify_end(ConnectionEnd::failed(make_error_code(errc::output_queue_full)), {});
  EXPECT_FALSE(queue.retry);
  EXPECT_EQ(queue.reason, GiveUpReason::error);
}

// classify_error is asked first about an error, so a layer or the
// application can say what the driver's rules cannot know; unknown keeps
// the rules.
TEST(ReconnectEndings, ClassifyErrorOverridesTheRules) {
  ReconnectSettings settings;
  settings.classify_error = [](const std::error_code& error) {
    if (error == std::errc::connection_refused) return ErrorVerdict::give_up;
    if (error == errc::accept_mismatch) return ErrorVerdict::retry;
    return ErrorVerdict::unknown;
  };
  ReconnectDecision decision = classify_end(
      ConnectionEnd::failed(std::make_error_code(std::errc::connection_refused)), settings);
  EXPECT_FALSE(decision.retry);
  EXPECT_EQ(decision.reason, GiveUpReason::error);
  EXPECT_TRUE(
      classify_end(ConnectionEnd::failed(make_error_code(errc::accept_mismatch)), settings).retry);
  EXPECT_TRUE(classify_end(lost(), settings).retry);
  // A clean close carries no error: the hook is not asked.
  EXPECT_FALSE(classify_end(peer_closed(1000), settings).retry);
}

// A give-up costs no attempt and draws no random bytes.
TEST(ReconnectEndings, AGiveUpLeavesTheCountAlone) {
  int draws = 0;
  ReconnectPolicy policy({}, [&draws](MutableByteView out) {
    ++draws;
    for (std::byte& byte : out) byte = std::byte{0};
  });
  ASSERT_TRUE(policy.on_ended(t0, lost()).retry);
  EXPECT_EQ(draws, 1);
  EXPECT_FALSE(policy.on_ended(t0, peer_closed(1002)).retry);
  EXPECT_EQ(draws, 1);
  EXPECT_EQ(policy.attempts(), 1U);
}

// ConnectionEnd::from copies what the Closed event says.
TEST(ReconnectEndings, FromClosedCopiesTheEvent) {
  const Closed closed{CloseCode::service_restart, "restarting", {}, CloseCode::service_restart};
  const ConnectionEnd end = ConnectionEnd::from(closed);
  EXPECT_EQ(end.code, CloseCode::service_restart);
  EXPECT_EQ(end.sent_code, CloseCode::service_restart);
  EXPECT_FALSE(end.error);
  EXPECT_EQ(end.http_status, 0);
  EXPECT_FALSE(end.by_application);
}

// ---- With a real Connection's Closed event -------------------------------------
// The rules above read Closed's fields; these endings come from a client
// Connection, so the fields are what the protocol really reports.

// An open client and its server, joined through the real handshake, with
// the client's clock started at t0.
test::ConnectionPair open_pair(const Config& client_config = {}) {
  test::ConnectionPair pair = test::make_pair(client_config, Config{});
  test::pump(pair);
  pair.client.advance_time(t0);
  return pair;
}

// Drains the client's events up to its Closed, as a transport would.
ConnectionEnd end_of(Connection& client) {
  while (std::optional<Event> event = client.next_event()) {
    if (const Closed* closed = std::get_if<Closed>(&*event)) return ConnectionEnd::from(*closed);
  }
  ADD_FAILURE() << "no Closed event";
  return {};
}

void deliver_server_output(test::ConnectionPair& pair) {
  const test::Bytes bytes = test::take_output(pair.server);
  ASSERT_EQ(pair.client.receive(bytes), bytes.size());
}

// RFC 6455 7.4.1: the server's 1012 (restarting) is retried, its 1000 is not.
TEST(ReconnectWithAConnection, TheServersCloseCodeDecides) {
  for (const auto& [code, retry] :
       std::vector<std::pair<CloseCode, bool>>{{CloseCode::service_restart, true},
                                               {CloseCode::try_again_later, true},
                                               {CloseCode::normal, false},
                                               {CloseCode::policy_violation, false}}) {
    test::ConnectionPair pair = open_pair();
    ASSERT_FALSE(pair.server.close(code));
    deliver_server_output(pair);
    const ReconnectDecision decision = classify_end(end_of(pair.client), {});
    EXPECT_EQ(decision.retry, retry) << static_cast<int>(code);
    EXPECT_EQ(decision.code, code);
  }
}

// RFC 6455 7.1.5: the stream ended without a close frame (the server was
// killed): 1006, retried.
TEST(ReconnectWithAConnection, AStreamThatEndsIsRetried) {
  test::ConnectionPair pair = open_pair();
  pair.client.receive_eof();
  const ReconnectDecision decision = classify_end(end_of(pair.client), {});
  EXPECT_TRUE(decision.retry);
  EXPECT_EQ(decision.code, CloseCode::abnormal);
}

// The application closed with 1000 and the server never answered: the
// close timed out, still a normal close of this side's.
TEST(ReconnectWithAConnection, AnUnansweredNormalCloseIsNotRetried) {
  test::ConnectionPair pair = open_pair();
  ASSERT_FALSE(pair.client.close(CloseCode::normal));
  (void)test::take_output(pair.client);
  pair.client.advance_time(t0 + 1s);
  pair.client.advance_time(t0 + 1min);
  const ConnectionEnd end = end_of(pair.client);
  EXPECT_EQ(end.error, errc::close_timeout);
  const ReconnectDecision decision = classify_end(end, {});
  EXPECT_FALSE(decision.retry);
  EXPECT_EQ(decision.reason, GiveUpReason::normal_close);
}

// The client's idle timeout sends 1001 to a server that fell silent: a lost
// connection (1006), retried, not the deliberate 1001 it looks like.
TEST(ReconnectWithAConnection, AnIdleTimeoutIsALostConnection) {
  Config config;
  config.timeouts.idle_timeout = 10s;
  test::ConnectionPair pair = open_pair(config);
  pair.client.advance_time(t0 + 11s);
  const ConnectionEnd end = end_of(pair.client);
  EXPECT_EQ(end.error, errc::idle_timeout);
  EXPECT_EQ(end.sent_code, CloseCode::going_away);
  const ReconnectDecision decision = classify_end(end, {});
  EXPECT_TRUE(decision.retry);
  EXPECT_EQ(decision.code, CloseCode::abnormal);
}

// RFC 6455 5.2: a frame with a reserved bit set and no extension to claim
// it fails the connection with 1002; the server is broken, not away.
TEST(ReconnectWithAConnection, AServerThatBreaksTheProtocolIsNotRetried) {
  test::ConnectionPair pair = open_pair();
  const test::Bytes bad_frame = test::bytes_of({0xC1, 0x00});  // FIN, RSV1, text, empty
  ASSERT_EQ(pair.client.receive(bad_frame), bad_frame.size());
  const ConnectionEnd end = end_of(pair.client);
  EXPECT_EQ(end.sent_code, CloseCode::protocol_error);
  const ReconnectDecision decision = classify_end(end, {});
  EXPECT_FALSE(decision.retry);
  EXPECT_EQ(decision.reason, GiveUpReason::close_code);
  EXPECT_EQ(decision.code, CloseCode::protocol_error);
}

}  // namespace
}  // namespace ws
