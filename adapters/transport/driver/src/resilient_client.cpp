#include "ws/driver/resilient_client.hpp"

#include <utility>

namespace ws {

ResilientClient::ResilientClient(Key, std::string url, ClientHandshakeOptions handshake,
                                 Handler handler, ResilienceEvents events, ResilientOptions options,
                                 Hooks hooks)
    : supervisor_(std::move(url), std::move(handshake), std::move(options.supervisor),
                  std::move(options.random)),
      handler_(std::move(handler)),
      events_(std::move(events)),
      hooks_(std::move(hooks)) {}

std::shared_ptr<ResilientClient> ResilientClient::make(std::string url,
                                                       ClientHandshakeOptions handshake,
                                                       Handler handler, ResilienceEvents events,
                                                       ResilientOptions options, Hooks hooks) {
  return std::make_shared<ResilientClient>(Key{}, std::move(url), std::move(handshake),
                                           std::move(handler), std::move(events),
                                           std::move(options), std::move(hooks));
}

void ResilientClient::start() {
  if (stopping_.load(std::memory_order_acquire)) {
    apply(supervisor_.stop());
    return;
  }
  apply(supervisor_.start());
}

void ResilientClient::stop() {
  if (stopping_.exchange(true, std::memory_order_acq_rel)) return;
  if (const SessionPtr open = session()) (void)open->close(CloseCode::normal);
  // The supervisor is the owner thread's: a wait in progress is ended there.
  if (hooks_.post) {
    hooks_.post([weak = weak_from_this()] {
      if (const auto self = weak.lock()) self->apply(self->supervisor_.stop());
    });
  }
}

void ResilientClient::connect_failed(std::error_code error) {
  apply(supervisor_.on_connect_failed(now(), error));
}

SessionPtr ResilientClient::session() const {
  std::lock_guard lock(mutex_);
  return session_;
}

// The application's handler, with the supervisor told first. One wrapper per
// connection: `hop` marks a connection whose refusal is a followed redirect.
Handler ResilientClient::wrap() {
  Handler wrapped = handler_;
  const std::weak_ptr<ResilientClient> weak = weak_from_this();
  auto hop = std::make_shared<bool>(false);
  wrapped.on_open = [weak](const SessionPtr& session) {
    const auto self = weak.lock();
    if (!self) return;
    self->supervisor_.on_open(self->now());
    {
      std::lock_guard lock(self->mutex_);
      self->session_ = session;
    }
    // stop() may have come while this one was connecting: it did not see it.
    if (self->stopping_.load(std::memory_order_acquire)) (void)session->close(CloseCode::normal);
    if (self->handler_.on_open) self->handler_.on_open(session);
    const std::uint32_t attempt = self->supervisor_.attempt();
    if (attempt > 0 && self->events_.on_reconnected) self->events_.on_reconnected(session, attempt);
  };
  wrapped.on_rejected = [weak, hop](const SessionPtr& session, const Rejected& rejected) {
    const auto self = weak.lock();
    if (!self) return;
    *hop = self->supervisor_.on_rejected(rejected);
    if (!*hop && self->handler_.on_rejected) self->handler_.on_rejected(session, rejected);
  };
  wrapped.on_close = [weak, hop](const SessionPtr& session, const Closed& closed) {
    const auto self = weak.lock();
    if (!self) return;
    {
      std::lock_guard lock(self->mutex_);
      if (self->session_ == session) self->session_.reset();
    }
    if (!*hop && self->handler_.on_close) self->handler_.on_close(session, closed);
    if (self->stopping_.load(std::memory_order_acquire)) (void)self->supervisor_.stop();
    self->apply(self->supervisor_.on_closed(self->now(), closed));
  };
  return wrapped;
}

void ResilientClient::apply(SupervisorStep step) {
  // A failed connect decides again at once (a wait or a give-up), so this
  // loops at most twice.
  while (true) {
    switch (step.action) {
      case SupervisorAction::none:
        return;
      case SupervisorAction::connect: {
        if (step.redirect_status != 0 && events_.on_redirect) {
          events_.on_redirect(last_url_, step.target.url, step.redirect_status);
        }
        last_url_ = step.target.url;
        if (events_.on_connecting) events_.on_connecting(step.target, step.attempt);
        const std::error_code error = hooks_.connect(step.target, wrap());
        if (!error) return;
        step = supervisor_.on_connect_failed(now(), error);
        continue;
      }
      case SupervisorAction::wait: {
        if (events_.on_reconnecting) {
          events_.on_reconnecting(
              ReconnectingEvent{step.attempt, step.delay, step.end, step.target.url});
        }
        const std::uint64_t generation = ++wait_generation_;
        hooks_.wait(step.delay, [weak = weak_from_this(), generation] {
          const auto self = weak.lock();
          if (!self || self->wait_generation_ != generation) return;
          self->apply(self->supervisor_.on_wait_over());
        });
        return;
      }
      case SupervisorAction::give_up:
        ++wait_generation_;  // a wait in progress (stop()) is void
        finished_.store(true, std::memory_order_release);
        if (events_.on_gave_up) {
          events_.on_gave_up(GaveUpEvent{step.reason, step.end, step.error, step.attempt});
        }
        return;
    }
  }
}

}  // namespace ws
