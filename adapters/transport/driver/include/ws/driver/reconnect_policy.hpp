// When a client should connect again, and after how long: a reconnect
// policy with no I/O, no clock and no thread. The transport tells it when a
// connection opened and how one ended, with the time; it answers "retry
// after D" or "give up, because R", and the transport does the waiting.
//
// RFC 6455 7.2.3 asks a client whose connection closed abnormally to wait a
// random, growing delay before it tries again, so that a restarted server
// is not met by every client at once. This policy does that with
// exponential backoff and full jitter: the delay before attempt n is drawn
// uniformly from [0, min(max_delay, initial_delay * multiplier^(n-1))].
// Drawing from the whole range (not "ceiling plus a little noise") is what
// spreads a crowd of clients that all lost the same server at the same
// instant; the expected wait is half the ceiling.
//
// Thread safety: none. One policy per client, used on the thread that runs
// that client's transport.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <system_error>
#include <vector>

#include "ws/base/random_source.hpp"
#include "ws/config.hpp"
#include "ws/event.hpp"
#include "ws/frame/close_code.hpp"

namespace ws {

/// An application's or a layer's opinion of an error the policy would
/// otherwise judge by its general rules (ReconnectSettings::classify_error).
enum class ErrorVerdict : std::uint8_t {
  unknown,  // no opinion: the policy's own rules decide
  retry,    // transient: try again (still bounded by max_attempts)
  give_up,  // permanent: trying again cannot help
};

/// Defaults: 250 ms, doubling, capped at 30 s, unlimited attempts, the
/// backoff forgotten after a connection that stayed open 30 s.
struct ReconnectSettings {
  /// Ceiling of the random delay before the first attempt. Short, because
  /// the commonest end is a single dropped connection (a mobile network
  /// changing cells, a load balancer recycling a node) and the server is
  /// back at once. A negative value counts as zero.
  Duration initial_delay{std::chrono::milliseconds(250)};
  /// Each further attempt's ceiling is the previous one times this. Values
  /// below 1 (and NaN) count as 1: the backoff never shrinks.
  double multiplier = 2.0;
  /// No ceiling grows past this. With the defaults the eighth attempt
  /// reaches it (250 ms doubled seven times is 32 s); a client then waits
  /// 15 s on average, which keeps an outage of minutes cheap for the server
  /// while a user still sees the client come back soon after the server.
  Duration max_delay{std::chrono::seconds(30)};
  /// Reconnection attempts allowed in a row (since the last reset) before
  /// giving up; 0 means no limit. A connection that opened but did not stay
  /// open reset_after counts as a failed attempt, so a server that accepts
  /// and drops at once still meets a growing backoff.
  std::uint32_t max_attempts = 0;
  /// A connection that stayed open at least this long resets the backoff:
  /// the next attempt is attempt 1 again. Zero turns this off (only reset()
  /// starts over), as a zero timeout does in ws::Timeouts. The default
  /// equals max_delay: a client that reconnects no more often than once per
  /// max_delay costs the server no more than one waiting at the cap.
  Duration reset_after{std::chrono::seconds(30)};
  /// Close codes that are worth another attempt, including the codes RFC
  /// 6455 7.1.5 and 7.4.1 reserve for ends without a close frame: 1006 (the
  /// connection was lost, or never made: refused, reset, timed out, name not
  /// resolved) and 1015 (the TLS handshake failed). The others by default:
  /// 1011 (server error), 1012 (service restart), 1013 (try again later) and
  /// 1014 (bad gateway, the WebSocket twin of HTTP 502). 1000 (normal close)
  /// is never retried, even when listed; 1001 (going away) and 1005 (a close
  /// frame without a code) are deliberate closes by default and may be
  /// listed. Codes 3000-4999 belong to applications and are retried only
  /// when listed.
  std::vector<std::uint16_t> retryable_close_codes{1006, 1011, 1012, 1013, 1014, 1015};
  /// HTTP statuses that refuse the opening handshake and are worth another
  /// attempt: 502, 503 and 504 say a gateway or the server is briefly
  /// unable to answer, and 429 asks the client to slow down, which is what
  /// backing off does. Every other status gives up: 4xx says the request
  /// itself is wrong (401/403 credentials, 404 path) and will be again,
  /// 3xx reaches here only when redirects are not followed or ran out, and
  /// 500/501 describe a server that will answer the same way.
  std::vector<int> retryable_http_statuses{429, 502, 503, 504};
  /// Optional: asked first about every ending that carries an error, so a
  /// layer whose error category the driver cannot know (HTTP/2's
  /// stream_refused, TLS's certificate_verify_failed) or the application
  /// can say retry or give up. Returning unknown keeps classify_end()'s rules.
  std::function<ErrorVerdict(const std::error_code&)> classify_error{};
};

/// How a connection ended, or why connecting failed. Fill it from the
/// Closed event (from()) or from the error of a connect that failed
/// (failed()); set http_status when a Rejected event came before the Closed.
struct ConnectionEnd {
  /// The code of the peer's close frame (Closed::code): CloseCode::abnormal
  /// when none arrived, CloseCode::no_status when it had no code.
  CloseCode code = CloseCode::abnormal;
  /// The code this side sent (Closed::sent_code): abnormal when it sent none.
  CloseCode sent_code = CloseCode::abnormal;
  /// Closed::error, or the error of the connect, resolve or TLS step that
  /// failed before a Connection existed. Empty after a clean close.
  std::error_code error{};
  /// The status of a Rejected event (the server refused the upgrade); 0
  /// when the server did not answer with a status other than 101.
  int http_status = 0;
  /// The application closed (or stopped) this connection itself: whatever
  /// the codes say, it does not want another one.
  bool by_application = false;

  static ConnectionEnd from(const Closed& closed) noexcept {
    return ConnectionEnd{closed.code, closed.sent_code, closed.error, 0, false};
  }
  static ConnectionEnd failed(std::error_code error) noexcept {
    return ConnectionEnd{CloseCode::abnormal, CloseCode::abnormal, error, 0, false};
  }
};

/// Why the policy will not try again.
enum class GiveUpReason : std::uint8_t {
  none,                   // (the decision is to retry)
  closed_by_application,  // ConnectionEnd::by_application
  normal_close,           // 1000, or 1001/1005 not listed as retryable
  close_code,             // another code not listed (1002, 1003, 1007-1010, 3000-4999...)
  http_status,            // the handshake was refused with a status not listed
  handshake_invalid,      // the server's answer broke RFC 6455 4.1 or HTTP (ws errors)
  error,                  // an error ws knows to be permanent, or classify_error said so
  attempts_exhausted,     // max_attempts reached
  reconnect_disabled,     // (ClientSupervisor) reconnection was not asked for
};

/// What to do next. For a retry, wait `delay` (start attempt number
/// `attempt`, counted from 1 since the last reset, at `retry_at`). After
/// attempts_exhausted, `attempt` is the number of attempts made. `code` is
/// the close code the ending counted as (1006 for a lost or failed
/// connection, 1015 for a failed TLS handshake; abnormal for an HTTP
/// status or a verdict of classify_error).
struct ReconnectDecision {
  bool retry = false;
  Duration delay{0};
  TimePoint retry_at{};
  std::uint32_t attempt = 0;
  GiveUpReason reason = GiveUpReason::none;
  CloseCode code = CloseCode::abnormal;
};

/// The verdict on one ending, before any backoff: retry or not, why, and
/// the close code it counted as. The rules, in order:
///  1. by_application gives up.
///  2. An error classify_error judges (retry or give_up) is decided so.
///  3. An HTTP status is retried when listed in retryable_http_statuses.
///  4. A close frame from the peer: its code decides.
///  5. Else a close this side sent decides (the application's, or 1002,
///     1007, 1009 when the peer broke the protocol or a limit), except after
///     errc::idle_timeout, where this side's 1001 only reports that the
///     peer fell silent: that counts as 1006.
///  6. Else the error: ws's transport failures (end of stream, timeouts)
///     count as 1006; ws's handshake errors give up (handshake_invalid);
///     other ws errors give up (error); another category's error that is
///     equivalent to condition::handshake_failed (ws::tls) counts as 1015;
///     any other error (std::errc::connection_refused, timed_out,
///     connection_reset, host_unreachable, address_not_available from a
///     name that did not resolve, a layer's own) counts as 1006.
///  7. Nothing at all (no frame, no error) counts as 1006.
/// A code counts by retryable_close_codes, 1000 never.
ReconnectDecision classify_end(const ConnectionEnd& end, const ReconnectSettings& settings);

/// The backoff state of one client across its connections.
///
/// Use: on_connected(now) when a handshake completes; on_ended(now, end)
/// when a connection ends or a connect fails, then wait the decision's
/// delay and connect again, or stop. reset() when the application starts
/// over (a fresh connect() after giving up, a network that came back).
class ReconnectPolicy {
 public:
  /// An empty `random` means system_random_source(); tests pass their own.
  explicit ReconnectPolicy(ReconnectSettings settings = {}, RandomSource random = {});

  /// The opening handshake completed at `now`.
  void on_connected(TimePoint now) noexcept;

  /// The connection (or the attempt to make one) ended at `now`. Counts the
  /// attempt, after forgetting the backoff if the connection had stayed open
  /// reset_after. A give-up leaves the count as it was: after one, call
  /// reset() before using the policy again.
  ReconnectDecision on_ended(TimePoint now, const ConnectionEnd& end);

  /// Forget the backoff: the next retry is attempt 1.
  void reset() noexcept;

  /// Retries decided since the last reset (the last decision's attempt).
  std::uint32_t attempts() const noexcept { return attempts_; }

  /// The largest delay attempt `attempt` (1-based) may wait.
  Duration ceiling(std::uint32_t attempt) const noexcept;

  const ReconnectSettings& settings() const noexcept { return settings_; }

 private:
  Duration draw(Duration ceiling);

  ReconnectSettings settings_;
  RandomSource random_;
  std::uint32_t attempts_ = 0;
  bool connected_ = false;
  TimePoint connected_at_{};
};

}  // namespace ws
