#include "ws/driver/reconnect_policy.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>

#include "ws/base/error.hpp"

namespace ws {
namespace {

bool listed(const std::vector<std::uint16_t>& codes, CloseCode code) {
  return std::find(codes.begin(), codes.end(), static_cast<std::uint16_t>(code)) != codes.end();
}

ReconnectDecision retry_as(CloseCode code) {
  ReconnectDecision decision;
  decision.retry = true;
  decision.code = code;
  return decision;
}

ReconnectDecision give_up(GiveUpReason reason, CloseCode code = CloseCode::abnormal) {
  ReconnectDecision decision;
  decision.reason = reason;
  decision.code = code;
  return decision;
}

ReconnectDecision judge_code(CloseCode code, const ReconnectSettings& settings) {
  // RFC 6455 7.4.1: 1000 means the purpose of the connection is fulfilled;
  // connecting again would undo the peer's (or this side's) decision.
  if (code != CloseCode::normal && listed(settings.retryable_close_codes, code)) {
    return retry_as(code);
  }
  const bool deliberate =
      code == CloseCode::normal || code == CloseCode::going_away || code == CloseCode::no_status;
  return give_up(deliberate ? GiveUpReason::normal_close : GiveUpReason::close_code, code);
}

ReconnectDecision judge_error(const std::error_code& error, const ReconnectSettings& settings) {
  if (error.category() == error_category()) {
    // ws's own errors are all understood: only the transport's failures
    // (end of stream, a timeout) are accidents. A handshake the server
    // answered wrongly would be answered wrongly again.
    if (error == condition::transport_failure) return judge_code(CloseCode::abnormal, settings);
    if (error == condition::handshake_failed) return give_up(GiveUpReason::handshake_invalid);
    return give_up(GiveUpReason::error);
  }
  // A layer below the WebSocket (ws::tls) reports a failed handshake of its
  // own with this condition: RFC 6455 7.4.1 names that end 1015.
  if (error == condition::handshake_failed) {
    return judge_code(CloseCode::tls_handshake_failed, settings);
  }
  // Anything else (a refused, reset or timed-out connect, a name that did
  // not resolve, a layer's own failure) ended the connection without a
  // close frame: RFC 6455 7.1.5 calls that 1006.
  return judge_code(CloseCode::abnormal, settings);
}

}  // namespace

ReconnectDecision classify_end(const ConnectionEnd& end, const ReconnectSettings& settings) {
  if (end.by_application) {
    return give_up(GiveUpReason::closed_by_application,
                   end.code != CloseCode::abnormal ? end.code : end.sent_code);
  }
  if (end.error && settings.classify_error) {
    switch (settings.classify_error(end.error)) {
      case ErrorVerdict::retry:
        return retry_as(CloseCode::abnormal);
      case ErrorVerdict::give_up:
        return give_up(GiveUpReason::error);
      case ErrorVerdict::unknown:
        break;
    }
  }
  if (end.http_status != 0) {
    const auto& statuses = settings.retryable_http_statuses;
    if (std::find(statuses.begin(), statuses.end(), end.http_status) != statuses.end()) {
      return retry_as(CloseCode::abnormal);
    }
    return give_up(GiveUpReason::http_status);
  }
  // The peer said why it closed: that decides, whatever went wrong after.
  if (end.code != CloseCode::abnormal) return judge_code(end.code, settings);
  // This side closed first and the peer never answered. Its code says why,
  // except the 1001 an idle timeout sends: the peer fell silent, which is
  // a lost connection.
  if (end.sent_code != CloseCode::abnormal && end.error != errc::idle_timeout) {
    return judge_code(end.sent_code, settings);
  }
  if (end.error) return judge_error(end.error, settings);
  return judge_code(CloseCode::abnormal, settings);
}

ReconnectPolicy::ReconnectPolicy(ReconnectSettings settings, RandomSource random)
    : settings_(std::move(settings)),
      random_(random ? std::move(random) : system_random_source()) {}

void ReconnectPolicy::on_connected(TimePoint now) noexcept {
  connected_ = true;
  connected_at_ = now;
}

ReconnectDecision ReconnectPolicy::on_ended(TimePoint now, const ConnectionEnd& end) {
  if (connected_) {
    connected_ = false;
    const Duration reset_after = settings_.reset_after;
    if (reset_after.count() > 0 && now - connected_at_ >= reset_after) attempts_ = 0;
  }
  ReconnectDecision decision = classify_end(end, settings_);
  if (!decision.retry) return decision;
  if (settings_.max_attempts != 0 && attempts_ >= settings_.max_attempts) {
    decision.retry = false;
    decision.reason = GiveUpReason::attempts_exhausted;
    decision.attempt = attempts_;
    return decision;
  }
  // Unlimited attempts stop counting at the top; the ceiling is long capped.
  if (attempts_ < std::numeric_limits<std::uint32_t>::max()) ++attempts_;
  decision.attempt = attempts_;
  decision.delay = draw(ceiling(attempts_));
  decision.retry_at = now + decision.delay;
  return decision;
}

void ReconnectPolicy::reset() noexcept {
  attempts_ = 0;
  connected_ = false;
}

Duration ReconnectPolicy::ceiling(std::uint32_t attempt) const noexcept {
  const Duration::rep cap = std::max<Duration::rep>(settings_.max_delay.count(), 0);
  const Duration::rep initial = std::clamp<Duration::rep>(settings_.initial_delay.count(), 0, cap);
  if (attempt <= 1 || initial == 0) return Duration(initial);
  // NaN fails every comparison, so it lands here too.
  const double multiplier = settings_.multiplier >= 1.0 ? settings_.multiplier : 1.0;
  const double grown =
      static_cast<double>(initial) * std::pow(multiplier, static_cast<double>(attempt - 1));
  // An overflow to infinity is simply "past the cap". Below the cap (as a
  // double) the value fits a Duration::rep, so the cast is defined.
  if (!(grown < static_cast<double>(cap))) return Duration(cap);
  return Duration(static_cast<Duration::rep>(grown));
}

Duration ReconnectPolicy::draw(Duration ceiling) {
  const auto top = static_cast<std::uint64_t>(ceiling.count());
  if (top == 0) return Duration(0);
  std::array<std::byte, 8> bytes{};
  random_(MutableByteView(bytes));
  std::uint64_t value = 0;
  for (const std::byte byte : bytes) value = (value << 8U) | std::to_integer<std::uint64_t>(byte);
  // Full jitter: uniform over [0, ceiling] in whole milliseconds. The
  // modulo's bias is below top / 2^64 relative, under 2^-32 for any
  // ceiling shorter than 49 days, far below what a backoff can notice.
  return Duration(static_cast<Duration::rep>(value % (top + 1)));
}

}  // namespace ws
