#include "ws/posix/resilient_client.hpp"

#include <utility>

#include "ws/base/error.hpp"
#include "ws/posix/epoll_watch.hpp"

namespace ws::posix {

std::shared_ptr<ResilientClient> start_resilient(EpollLoop& loop, std::string url, Handler handler,
                                                 ResilienceEvents events,
                                                 ResilientOptions resilience,
                                                 EpollClientOptions options) {
  ClientHandshakeOptions handshake = options.handshake;
  ResilientClient::Hooks hooks;
  hooks.connect = [&loop, options = std::move(options)](const ConnectTarget& target,
                                                        Handler connection_handler) {
    EpollClientOptions these = options;
    these.handshake = target.handshake;
    const EpollClient client(loop, std::move(these));
    const Result<EpollSessionPtr> started =
        client.connect(target.url, std::move(connection_handler));
    return started ? std::error_code{} : started.error();
  };
  // The watch is made on the loop thread, where its members must run, at
  // the first wait; one timer serves every wait (they never overlap).
  hooks.wait = [&loop, watch = std::shared_ptr<EpollWatch>()](Duration delay,
                                                              std::function<void()> then) mutable {
    if (!watch) watch = std::make_shared<EpollWatch>(loop);
    watch->set_timer(Clock::now() + delay, std::move(then));
  };
  hooks.post = [&loop](std::function<void()> task) { loop.post(std::move(task)); };
  std::shared_ptr<ResilientClient> client =
      ResilientClient::make(std::move(url), std::move(handshake), std::move(handler),
                            std::move(events), std::move(resilience), std::move(hooks));
  loop.post([weak = std::weak_ptr<ResilientClient>(client)] {
    if (const auto self = weak.lock()) self->start();
  });
  return client;
}

// ---- Blocking threads ---------------------------------------------------------------

struct BlockingResilientClient::State {
  BlockingClientOptions options;
  std::mutex mutex;  // guards tasks
  std::condition_variable posted;
  std::deque<std::function<void()>> tasks;
  // The thread in run() only.
  std::optional<std::pair<ConnectTarget, Handler>> connect;
  TimePoint wait_until{};
  std::function<void()> after_wait;
  std::optional<GaveUpEvent> gave_up;
  bool ran = false;

  void run_posted() {
    std::deque<std::function<void()>> now;
    {
      std::lock_guard lock(mutex);
      now.swap(tasks);
    }
    for (std::function<void()>& task : now) task();
  }
};

BlockingResilientClient::BlockingResilientClient(std::string url, Handler handler,
                                                 ResilienceEvents events,
                                                 ResilientOptions resilience,
                                                 BlockingClientOptions options)
    : state_(std::make_shared<State>()) {
  ClientHandshakeOptions handshake = options.handshake;
  state_->options = std::move(options);
  // The hooks only record what to do: run() does it on its own thread, so
  // no connection starts inside another's callbacks.
  ResilientClient::Hooks hooks;
  State* state = state_.get();  // state_ outlives client_ (declared first, destroyed last)
  hooks.connect = [state](const ConnectTarget& target, Handler connection_handler) {
    state->connect.emplace(target, std::move(connection_handler));
    return std::error_code{};
  };
  hooks.wait = [state](Duration delay, std::function<void()> then) {
    state->wait_until = Clock::now() + delay;
    state->after_wait = std::move(then);
  };
  hooks.post = [weak = std::weak_ptr<State>(state_)](std::function<void()> task) {
    const std::shared_ptr<State> alive = weak.lock();
    if (!alive) return;
    {
      std::lock_guard lock(alive->mutex);
      alive->tasks.push_back(std::move(task));
    }
    alive->posted.notify_all();
  };
  auto on_gave_up = std::move(events.on_gave_up);
  events.on_gave_up = [state, on_gave_up = std::move(on_gave_up)](const GaveUpEvent& event) {
    state->gave_up = event;
    if (on_gave_up) on_gave_up(event);
  };
  client_ = ResilientClient::make(std::move(url), std::move(handshake), std::move(handler),
                                  std::move(events), std::move(resilience), std::move(hooks));
}

BlockingResilientClient::~BlockingResilientClient() = default;

GaveUpEvent BlockingResilientClient::run() {
  State& state = *state_;
  if (state.ran) return GaveUpEvent{};
  state.ran = true;
  client_->start();
  while (!state.gave_up) {
    state.run_posted();
    if (state.gave_up) break;
    if (state.connect) {
      auto [target, handler] = std::move(*state.connect);
      state.connect.reset();
      // ws::posix::connect() calls on_close for every connection the
      // Driver ran (a refused upgrade or tunnel too) and returns a failure
      // to start (not resolved, refused) without one: that is told here.
      bool closed = false;
      auto on_close = std::move(handler.on_close);
      handler.on_close = [&closed, &on_close](const SessionPtr& session, const Closed& end) {
        closed = true;
        if (on_close) on_close(session, end);
      };
      BlockingClientOptions options = state.options;
      options.handshake = target.handshake;
      const std::error_code error = connect(target.url, handler, options);
      if (!closed) client_->connect_failed(error ? error : make_error_code(errc::unexpected_eof));
      continue;
    }
    std::unique_lock lock(state.mutex);
    if (state.after_wait) {
      // Woken early by a posted task (stop()), the loop runs it and comes
      // back here with the same deadline, unless it gave up.
      if (!state.posted.wait_until(lock, state.wait_until, [&] { return !state.tasks.empty(); })) {
        std::function<void()> then = std::move(state.after_wait);
        state.after_wait = nullptr;
        lock.unlock();
        then();
      }
      continue;
    }
    state.posted.wait(lock, [&] { return !state.tasks.empty(); });
  }
  return *state.gave_up;
}

void BlockingResilientClient::stop() { client_->stop(); }

SessionPtr BlockingResilientClient::session() const { return client_->session(); }

}  // namespace ws::posix
