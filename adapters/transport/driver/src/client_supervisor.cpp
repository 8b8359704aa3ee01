#include "ws/driver/client_supervisor.hpp"

#include <utility>

#include "ws/base/error.hpp"

namespace ws {

ReconnectSettings supervisor_reconnect_defaults() {
  ReconnectSettings settings;
  settings.retryable_close_codes.push_back(static_cast<std::uint16_t>(CloseCode::going_away));
  return settings;
}

std::string describe(const ConnectionEnd& end) {
  if (end.http_status != 0) return "refused with HTTP " + std::to_string(end.http_status);
  const CloseCode code = end.code != CloseCode::abnormal ? end.code : end.sent_code;
  std::string text = "closed with " + std::to_string(static_cast<unsigned>(code));
  if (end.error) text += ": " + end.error.message();
  return text;
}

std::string_view describe(GiveUpReason reason) noexcept {
  switch (reason) {
    case GiveUpReason::none:
      return "none";
    case GiveUpReason::closed_by_application:
      return "closed by the application";
    case GiveUpReason::normal_close:
      return "normal close";
    case GiveUpReason::close_code:
      return "close code not retried";
    case GiveUpReason::http_status:
      return "HTTP status not retried";
    case GiveUpReason::handshake_invalid:
      return "invalid handshake";
    case GiveUpReason::error:
      return "permanent error";
    case GiveUpReason::attempts_exhausted:
      return "attempts exhausted";
    case GiveUpReason::reconnect_disabled:
      return "reconnection not enabled";
  }
  return "unknown";
}

ClientSupervisor::ClientSupervisor(std::string url, ClientHandshakeOptions handshake,
                                   SupervisorSettings settings, RandomSource random)
    : settings_(std::move(settings)),
      policy_(settings_.reconnect_settings, std::move(random)),
      base_{std::move(url), std::move(handshake)},
      current_(base_) {}

SupervisorStep ClientSupervisor::start() {
  if (!parse_ws_url(base_.url)) {
    return give_up(GiveUpReason::error, ConnectionEnd::failed(make_error_code(errc::invalid_url)),
                   make_error_code(errc::invalid_url));
  }
  state_ = State::connecting;
  current_ = base_;
  redirects_ = 0;
  attempt_ = 0;
  SupervisorStep step;
  step.action = SupervisorAction::connect;
  step.target = current_;
  return step;
}

bool ClientSupervisor::on_rejected(const Rejected& rejected) {
  rejected_status_ = rejected.status;
  RedirectDecision decision =
      decide_redirect(current_.url, current_.handshake, rejected, redirects_, settings_.redirects);
  const bool follow = decision.verdict == RedirectVerdict::follow && !stopped_;
  if (decision.verdict != RedirectVerdict::not_followed) {
    pending_redirect_ = std::move(decision);
  }
  return follow;
}

void ClientSupervisor::on_open(TimePoint now) {
  state_ = State::open;
  redirects_ = 0;
  policy_.on_connected(now);
}

SupervisorStep ClientSupervisor::on_closed(TimePoint now, const Closed& closed) {
  ConnectionEnd end = ConnectionEnd::from(closed);
  end.http_status = std::exchange(rejected_status_, 0);
  return ended(now, end);
}

SupervisorStep ClientSupervisor::on_connect_failed(TimePoint now, std::error_code error) {
  rejected_status_ = 0;
  pending_redirect_.reset();
  return ended(now, ConnectionEnd::failed(error));
}

SupervisorStep ClientSupervisor::ended(TimePoint now, ConnectionEnd end) {
  std::optional<RedirectDecision> redirect = std::exchange(pending_redirect_, std::nullopt);
  if (state_ == State::done || state_ == State::waiting) return {};  // not a connection of ours
  if (stopped_) {
    end.by_application = true;
    return give_up(GiveUpReason::closed_by_application, end, end.error);
  }
  if (redirect && redirect->verdict == RedirectVerdict::follow) {
    // RFC 9110 15.4.2: a 301 or 308 speaks for the URL that answered it, so
    // the target is kept only while every hop since base_ was permanent.
    if (redirects_ == 0) chain_permanent_ = true;
    ++redirects_;
    chain_permanent_ = chain_permanent_ && redirect->permanent;
    current_ = ConnectTarget{std::move(redirect->url), std::move(redirect->handshake)};
    if (chain_permanent_) base_ = current_;
    state_ = State::connecting;
    SupervisorStep step;
    step.action = SupervisorAction::connect;
    step.target = current_;
    step.attempt = attempt_;
    step.redirect_status = end.http_status;
    return step;
  }
  if (redirect && redirect->verdict == RedirectVerdict::refused) {
    return give_up(GiveUpReason::error, end, redirect->error);
  }
  if (!settings_.reconnect) {
    const ReconnectDecision verdict = classify_end(end, settings_.reconnect_settings);
    return give_up(verdict.retry ? GiveUpReason::reconnect_disabled : verdict.reason, end,
                   end.error);
  }
  const ReconnectDecision decision = policy_.on_ended(now, end);
  if (!decision.retry) {
    SupervisorStep step = give_up(decision.reason, end, end.error);
    step.attempt = policy_.attempts();
    return step;
  }
  state_ = State::waiting;
  attempt_ = decision.attempt;
  SupervisorStep step;
  step.action = SupervisorAction::wait;
  step.target = base_;
  step.delay = decision.delay;
  step.attempt = decision.attempt;
  step.end = end;
  return step;
}

SupervisorStep ClientSupervisor::on_wait_over() {
  if (state_ != State::waiting) return {};
  state_ = State::connecting;
  current_ = base_;
  redirects_ = 0;
  SupervisorStep step;
  step.action = SupervisorAction::connect;
  step.target = current_;
  step.attempt = attempt_;
  return step;
}

SupervisorStep ClientSupervisor::stop() {
  stopped_ = true;
  if (state_ == State::waiting || state_ == State::idle) {
    ConnectionEnd end;
    end.by_application = true;
    return give_up(GiveUpReason::closed_by_application, end, {});
  }
  return {};
}

SupervisorStep ClientSupervisor::give_up(GiveUpReason reason, ConnectionEnd end,
                                         std::error_code error) {
  state_ = State::done;
  SupervisorStep step;
  step.action = SupervisorAction::give_up;
  step.reason = reason;
  step.end = end;
  step.error = error;
  step.attempt = attempt_;
  return step;
}

}  // namespace ws
