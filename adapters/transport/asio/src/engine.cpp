#include "ws/asio/detail/engine.hpp"

#include <mutex>
#include <utility>

#include "ws/base/error.hpp"
#include "ws/handshake/client_handshake.hpp"

namespace ws::asio::detail {
namespace {

std::error_code canceled() { return std::make_error_code(std::errc::operation_canceled); }

// The engine whose completion handlers this thread is running (inside its
// turn()), if any.
thread_local const Engine* handler_owner = nullptr;

// Rounds of handlers one turn() runs with inline starts before it lets the
// executor run other work: operations started later are posted.
constexpr std::size_t max_inline_rounds = 64;

// Driver steps one round of turn() may take (operations started inline,
// a hold released) before the rest is posted behind other work.
constexpr std::size_t max_steps_per_round = 64;

// How long a closed connection waits for the peer to end the stream.
Duration linger_time(const Config& config) {
  const Duration close_timeout = config.timeouts.close_timeout;
  return close_timeout.count() > 0 ? close_timeout : Duration(std::chrono::seconds(5));
}

// Restores handler_owner when a handler returns (or throws).
class OwnerScope {
 public:
  explicit OwnerScope(const Engine* owner) noexcept : outer_(handler_owner) {
    handler_owner = owner;
  }
  ~OwnerScope() { handler_owner = outer_; }
  OwnerScope(const OwnerScope&) = delete;
  OwnerScope& operator=(const OwnerScope&) = delete;

 private:
  const Engine* outer_;
};

}  // namespace

/// What the Session calls, from any thread, when it has work for the
/// engine: a turn posted to the executor. Holds the engine weakly: the
/// Session may outlive it.
class Engine::Waker final : public ws::Waker {
 public:
  explicit Waker(std::weak_ptr<Engine> engine) : engine_(std::move(engine)) {}
  void wake() noexcept override {
    if (const std::shared_ptr<Engine> engine = engine_.lock()) {
      try {
        engine->post_turn();
      } catch (...) {  // out of memory: the next turn sees the request
      }
    }
  }

 private:
  std::weak_ptr<Engine> engine_;
};

/// Forwards to StreamOptions::registry until the Stream ends (thread-safe,
/// as the registry is).
class Engine::Membership final : public ChannelMembership {
 public:
  explicit Membership(ChannelMembership* target) : target_(target) {}
  bool join(std::string_view channel, const std::shared_ptr<Subscriber>& subscriber) override {
    std::lock_guard lock(mutex_);
    return target_ != nullptr && target_->join(channel, subscriber);
  }
  void leave_all(const Subscriber* subscriber) override {
    std::lock_guard lock(mutex_);
    if (target_ != nullptr) target_->leave_all(subscriber);
  }
  void detach(const Subscriber* subscriber) {
    std::lock_guard lock(mutex_);
    if (target_ != nullptr && subscriber != nullptr) target_->leave_all(subscriber);
    target_ = nullptr;
  }

 private:
  std::mutex mutex_;
  ChannelMembership* target_;
};

Engine::Engine(StreamOptions options) : options_(std::move(options)) {
  options_.config.delivery = Delivery::whole_messages;
  if (options_.registry != nullptr) {
    membership_ = std::make_unique<Membership>(options_.registry);
    options_.registry = membership_.get();
  }
}

Engine::~Engine() = default;

// ---- Preparing ------------------------------------------------------------------

std::shared_ptr<const Handler> Engine::make_handler() {
  // The driver is a member: it never outlives `this`.
  auto handler = std::make_shared<Handler>();
  handler->on_upgrade = [this](const UpgradeRequest& request) {
    return decide_ ? decide_(request) : UpgradeDecision::accept_with(options_.accept);
  };
  handler->on_http = [this](const HttpHead& head) { return http_ ? http_(head) : HttpAnswer{}; };
  handler->on_open = [this](const SessionPtr&) { on_open(); };
  handler->on_message = [this](const SessionPtr&, const Message& message) { on_message(message); };
  handler->on_close = [this](const SessionPtr&, const Closed& closed) { on_closed(closed); };
  handler->on_ping = [this](const SessionPtr&, const Ping& ping) {
    if (control_) control_(ControlKind::ping, ping.payload);
  };
  handler->on_pong = [this](const SessionPtr&, const Pong& pong) {
    if (control_) control_(ControlKind::pong, pong.payload);
  };
  handler->on_rejected = [this](const SessionPtr&, const Rejected& rejected) {
    rejection_status_ = rejected.status;
  };
  return handler;
}

std::error_code Engine::make_driver(Connection connection) {
  driver_.emplace(std::move(connection), make_handler(),
                  static_cast<const DriverOptions&>(options_),
                  std::make_shared<Waker>(weak_from_this()));
  return {};
}

std::error_code Engine::prepare_accept(AcceptHandler decide, HttpHandler http) {
  if (driver_) return std::make_error_code(std::errc::already_connected);
  decide_ = std::move(decide);
  http_ = std::move(http);
  Config config = options_.config;
  // With an HTTP handler, requests that are not upgrades reach it.
  if (http_) config.serve_plain_http = true;
  return make_driver(Connection::server(config));
}

std::error_code Engine::prepare_accept_upgrade(std::string_view request_head, ByteView after,
                                               const AcceptOptions& options) {
  if (driver_) return std::make_error_code(std::errc::already_connected);
  Result<Connection> made =
      Connection::accept_upgrade(request_head, after, options, options_.config);
  if (made) return make_driver(std::move(*made));
  // Let a server that reads the request itself answer it: it sends the
  // right error response (400, 426, 431 ...; 500 for bad options) and then
  // closes, and the handshake fails with the original error.
  handshake_error_ = made.error();
  decide_ = [](const UpgradeRequest&) { return AcceptDecision::reject(500); };
  Connection fallback = Connection::server(options_.config);
  (void)fallback.receive(as_bytes(request_head));
  return make_driver(std::move(fallback));
}

std::error_code Engine::prepare_handshake(std::string_view url,
                                          const ClientHandshakeOptions& options) {
  if (driver_) return std::make_error_code(std::errc::already_connected);
  Result<Connection> made = Connection::client(url, options, options_.config);
  if (!made) return made.error();
  if (Result<WsUrl> parsed = parse_ws_url(url)) host_ = parsed->host;
  return make_driver(std::move(*made));
}

// ---- Operations ---------------------------------------------------------------

bool Engine::in_own_handlers() const noexcept { return handler_owner == this; }

void Engine::start_opening(std::error_code prepared, CompletionPtr done) {
  if (prepared || !driver_ || phase_ != Phase::idle) {
    complete(done, prepared ? prepared : std::make_error_code(std::errc::already_connected));
    turn();
    return;
  }
  handshake_done_ = std::move(done);
  phase_ = Phase::starting;
  transport_start(driver_->role(), host_);
  turn();
}

void Engine::start_read(std::string* out, CompletionPtr done) {
  if (read_done_) {
    complete(done, std::make_error_code(std::errc::operation_in_progress));
  } else if (closed_seen_ || phase_ == Phase::closed || phase_ == Phase::shutting_down) {
    complete(done, end_error());
  } else if (!driver_ || phase_ == Phase::idle || handshake_done_ ||
             driver_->connection().state() == State::handshaking) {
    complete(done, errc::not_open);
  } else {
    read_done_ = std::move(done);
    read_out_ = out;
  }
  turn();
}

void Engine::start_write(MessageKind kind, ByteView payload, CompletionPtr done) {
  std::error_code error;
  if (writes_.size() >= options_.max_queued_writes) {
    error = errc::output_queue_full;
  } else if (!driver_ || (phase_ != Phase::running && phase_ != Phase::starting)) {
    error = transport_error_ ? transport_error_ : make_error_code(errc::not_open);
  } else {
    // The driver's own send: the Connection's errors, no slow-subscriber
    // policy (the caller hears of it through this completion).
    error = driver_->send(kind, payload);
  }
  if (error) {
    complete(done, error);
  } else {
    writes_.push_back(PendingWrite{written_ + driver_->pending_output_size(), std::move(done)});
  }
  turn();
}

void Engine::start_ping(const std::vector<std::byte>& payload, CompletionPtr done) {
  std::error_code error;
  if (writes_.size() >= options_.max_queued_writes) {
    error = errc::output_queue_full;
  } else if (!driver_ || (phase_ != Phase::running && phase_ != Phase::starting)) {
    error = transport_error_ ? transport_error_ : make_error_code(errc::not_open);
  } else {
    error = driver_->ping(ByteView(payload));
  }
  if (error) {
    complete(done, error);
  } else {
    writes_.push_back(PendingWrite{written_ + driver_->pending_output_size(), std::move(done)});
  }
  turn();
}

void Engine::start_close(CloseCode code, const std::string& reason, CompletionPtr done) {
  if (close_done_) {
    complete(done, std::make_error_code(std::errc::operation_in_progress));
  } else if (phase_ == Phase::closed) {
    complete(done, closed_seen_ ? close_info_.error : end_error());
  } else if (!driver_ || phase_ == Phase::idle ||
             driver_->connection().state() == State::handshaking) {
    complete(done, errc::not_open);
  } else {
    std::error_code error;
    // Closing already (the peer's close, a Session::close, the policy):
    // this close joins it.
    if (!closed_seen_ && driver_->connection().state() == State::open) {
      error = driver_->close(static_cast<std::uint16_t>(code), reason);
    }
    if (error) {
      complete(done, error);
    } else {
      close_done_ = std::move(done);  // completes when the transport is closed
    }
  }
  turn();
}

void Engine::abandon() {
  if (membership_) membership_->detach(driver_ ? driver_->session().get() : nullptr);
  abandoned_.store(true, std::memory_order_release);
  post_turn();
}

// ---- Accessors ----------------------------------------------------------------

SessionPtr Engine::session() const { return driver_ ? driver_->session() : nullptr; }

bool Engine::is_open() const noexcept {
  return driver_ && phase_ == Phase::running && !handshake_done_ &&
         driver_->connection().state() == State::open;
}

const UpgradeRequest* Engine::request() const noexcept {
  if (!driver_) return nullptr;
  if (const UpgradeRequest* kept = driver_->session()->request()) return kept;
  return driver_->connection().request();
}

std::string_view Engine::subprotocol() const noexcept {
  return driver_ ? std::string_view(driver_->session()->subprotocol()) : std::string_view{};
}

void Engine::orphan_operations(Orphans& into) {
  const auto take = [&into](CompletionPtr& done) {
    if (done) into.completions.push_back(std::move(done));
  };
  take(handshake_done_);
  take(read_done_);
  read_out_ = nullptr;
  for (PendingWrite& write : writes_) take(write.done);
  writes_.clear();
  take(close_done_);
  for (Ready& item : ready_) take(item.done);
  ready_.clear();
  into.decide = std::move(decide_);
  decide_ = nullptr;
  into.http = std::move(http_);
  http_ = nullptr;
  into.control = std::move(control_);
  control_ = nullptr;
}

// ---- For the transport ----------------------------------------------------------

void Engine::read_eof() {
  peer_ended_ = true;
  driver_->receive_eof();
}

void Engine::transport_failed(std::error_code error) {
  if (!transport_error_) transport_error_ = error;
  driver_->transport_failed(error);
  again_ = true;  // the connection ends at the next step
}

void Engine::output_written(std::size_t n) {
  driver_->consume_output(n);
  written_ += n;
  while (!writes_.empty() && writes_.front().end <= written_) {
    complete(writes_.front().done, {});
    writes_.pop_front();
  }
}

void Engine::transport_ready(std::error_code error) {
  if (phase_ != Phase::starting) return;
  if (error) {
    transport_failed(error);
    driver_->abort(error);
  } else {
    phase_ = Phase::running;
  }
  turn();
}

void Engine::transport_closed() {
  if (phase_ == Phase::closed) return;
  phase_ = Phase::closed;
  schedule_timer(std::nullopt);
  // on_close, if due, with what the Connection still had to say.
  driver_->transport_closed();
  finish();
  turn();  // hands the completions over
}

void Engine::timer_fired() {
  if (phase_ == Phase::shutting_down) {
    if (shutdown_deadline_ && Clock::now() >= *shutdown_deadline_) {
      transport_abort();  // the peer did not end the stream in time
    } else {
      schedule_timer(shutdown_deadline_);
    }
    return;
  }
  turn();
}

// ---- The turn ---------------------------------------------------------------------

void Engine::turn() {
  if (in_turn_) {
    again_ = true;  // started from inside this turn: it runs before the turn ends
    return;
  }
  const std::shared_ptr<Engine> keep = shared_from_this();
  struct Guard {
    Engine& engine;
    ~Guard() { engine.in_turn_ = false; }
  } guard{*this};
  in_turn_ = true;
  for (std::size_t round = 0;; ++round) {
    std::size_t steps = 0;
    do {
      again_ = false;
      run_once();
    } while (again_ && ++steps < max_steps_per_round);
    if (again_) post_yield();
    if (ready_.empty()) break;
    // Handlers run with the engine consistent. An operation they start on
    // this engine runs in the next round instead of being posted, up to
    // max_inline_rounds; past that, starts are posted and other work on the
    // executor gets its turn.
    const OwnerScope owner(round < max_inline_rounds ? this : nullptr);
    invoke_ready();
  }
}

void Engine::post_yield() {
  if (yield_posted_) return;
  yield_posted_ = true;
  post_turn();
}

bool Engine::wants_events() const noexcept {
  // An open connection hands events over only for a pending read: unread
  // messages wait in the Connection (and in the socket: TCP pushes back).
  // Before it opens, and once it closes, they always flow.
  return driver_->connection().state() != State::open || read_done_ != nullptr;
}

void Engine::update_hold() noexcept {
  if (!driver_) return;
  held_ = !wants_events();
  driver_->hold_events(held_);
}

void Engine::run_once() {
  yield_posted_ = false;
  if (phase_ == Phase::closed) {
    finish();
    return;
  }
  if (!driver_ || phase_ == Phase::idle) return;
  if (abandoned_.load(std::memory_order_acquire)) {
    if (phase_ == Phase::shutting_down) {
      transport_abort();
      return;
    }
    driver_->abort(canceled());
  }
  if (phase_ == Phase::shutting_down) return;

  Driver& driver = *driver_;
  update_hold();
  bool read_called = false;
  ReadStop stop = ReadStop::waiting;
  if (phase_ == Phase::running && !held_ && driver.wants_read()) {
    stop = transport_read();
    read_called = true;
  }
  const Driver::Turn result = driver.step(Clock::now());
  if (phase_ == Phase::running) transport_write();
  if (driver.should_close_transport()) {
    start_shutdown();
    return;
  }
  // The connection started closing in this step (a close from another
  // thread, the policy): what the peer sends now must be seen.
  if (held_ && wants_events()) again_ = true;
  if (phase_ != Phase::running) {
    // Only time passes until the transport is ready (a TLS handshake).
    schedule_timer(driver.next_deadline());
    return;
  }
  update_hold();
  // Fairness: a turn cut by the event budget, or a read cut by the byte
  // budget with data maybe left, goes on after other work had its turn.
  if (result == Driver::Turn::yield) {
    post_yield();
  } else if (!held_ && driver.wants_read() &&
             (!read_called || stop == ReadStop::budget || stop == ReadStop::full)) {
    post_yield();
  }
  schedule_timer(driver.next_deadline());
}

void Engine::start_shutdown() {
  // A close handshake that ended (or a rejection, an HTTP answer, a close
  // for a protocol error) leaves gracefully: our FIN, then the peer's, so
  // that our last frames are not destroyed by a reset. A connection that
  // failed, timed out (the peer is gone or silent: no point waiting for it)
  // or was aborted is closed at once.
  const std::error_code why = closed_seen_ ? close_info_.error : driver_->result();
  const bool timed_out =
      why == errc::handshake_timeout || why == errc::idle_timeout || why == errc::close_timeout;
  const bool graceful = (closed_seen_ || driver_->result()) && !timed_out && !transport_error_ &&
                        driver_->pending_output_size() == 0;
  phase_ = Phase::shutting_down;
  if (!graceful) {
    transport_abort();
    return;
  }
  shutdown_deadline_ = Clock::now() + linger_time(options_.config);
  schedule_timer(shutdown_deadline_);
  transport_shutdown(peer_ended_);
}

// ---- Driver callbacks ---------------------------------------------------------------

void Engine::on_open() {
  // Inside the driver's dispatch: the handler's Session sends go straight
  // into the Connection, and a read it starts takes the next message of
  // this very turn. The 101 goes out first, on its own.
  if (phase_ == Phase::running) transport_write();
  if (handshake_done_) invoke_inline(std::move(handshake_done_), {}, {});
  update_hold();
}

void Engine::on_message(const Message& message) {
  if (!read_done_) return;  // arrived while closing, with no read pending: dropped
  read_out_->assign(message.text());
  read_out_ = nullptr;
  invoke_inline(std::move(read_done_), {}, message.kind);
  update_hold();
}

void Engine::on_closed(const Closed& closed) {
  closed_seen_ = true;
  close_info_ = CloseInfo{closed.code, std::string(closed.reason), closed.error, closed.sent_code};
  if (handshake_done_) {
    const std::error_code accept_error = driver_->accept_error();
    complete(handshake_done_, handshake_error_ ? handshake_error_
                              : accept_error   ? accept_error
                                               : end_error());
  }
  if (read_done_) {
    read_out_ = nullptr;
    complete(read_done_, end_error());
  }
}

// ---- Completions ----------------------------------------------------------------------

void Engine::finish() {
  if (finished_) return;
  finished_ = true;
  if (!closed_seen_) {
    // No Closed for us (a server that never opened, or the driver ended
    // it): say why.
    close_info_.error = end_error();
  }
  // The application's callbacks may own the Stream: let go of them.
  decide_ = nullptr;
  http_ = nullptr;
  control_ = nullptr;
  const std::error_code end = end_error();
  if (handshake_done_) {
    const std::error_code accept_error = driver_ ? driver_->accept_error() : std::error_code{};
    complete(handshake_done_, handshake_error_ ? handshake_error_
                              : accept_error   ? accept_error
                                               : end);
  }
  if (read_done_) {
    read_out_ = nullptr;
    complete(read_done_, end);
  }
  while (!writes_.empty()) {
    complete(writes_.front().done, end);
    writes_.pop_front();
  }
  if (close_done_) complete(close_done_, closed_seen_ ? close_info_.error : end);
}

void Engine::complete(CompletionPtr& done, std::error_code error, MessageKind kind) {
  if (!done) return;
  ready_.push_back(Ready{std::move(done), error, kind});
}

void Engine::invoke_inline(CompletionPtr done, std::error_code error, MessageKind kind) {
  const OwnerScope owner(this);
  done->invoke_on_io_executor(error, kind);
}

void Engine::invoke_ready() {
  invoking_.clear();
  invoking_.swap(ready_);
  // turn() runs on the executor: handlers bound to it need no dispatch.
  for (Ready& item : invoking_) item.done->invoke_on_io_executor(item.error, item.kind);
  invoking_.clear();
}

std::error_code Engine::end_error() const {
  if (closed_seen_) return close_info_.error ? close_info_.error : errc::connection_closed;
  if (driver_ && driver_->result()) return driver_->result();
  if (transport_error_) return transport_error_;
  return errc::unexpected_eof;
}

}  // namespace ws::asio::detail
