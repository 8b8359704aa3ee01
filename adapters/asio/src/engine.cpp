#include "ws/asio/detail/engine.hpp"

#include <utility>

#include "ws/channels/registry.hpp"
#include "ws/handshake/client_handshake.hpp"

namespace ws::asio::detail {
namespace {

std::error_code canceled() { return std::make_error_code(std::errc::operation_canceled); }

// A PreparedMessage is one unmasked frame: its payload is its tail.
ByteView payload_of(const PreparedMessage& message) {
  const ByteView frame = message.frame();
  return frame.subspan(frame.size() - message.payload_size());
}

// The engine whose completion handlers this thread is running (inside its
// pump()), if any.
thread_local const Engine* handler_owner = nullptr;

// Rounds of handlers one pump() runs with inline starts before it lets the
// executor run other work: operations started later are posted.
constexpr std::size_t max_inline_rounds = 64;

// Output held back while a handler may still add to it (see step()).
constexpr std::size_t max_deferred_output = 64 * 1024;

// How long a closed connection waits for the peer to end the stream.
Duration linger_time(const Config& config) {
  const Duration close_timeout = config.timeouts.close_timeout;
  return close_timeout.count() > 0 ? close_timeout : Duration(std::chrono::seconds(5));
}

}  // namespace

Engine::Engine(StreamOptions options)
    : options_(std::move(options)), queue_(options_.backpressure) {
  options_.config.delivery = Delivery::whole_messages;
}

Engine::~Engine() = default;

// ---- Session: any thread ----------------------------------------------------

bool Engine::queue_for_session(std::shared_ptr<const PreparedMessage> message) {
  using PushResult = channels::SubscriberQueue::PushResult;
  switch (queue_.push(message)) {
    case PushResult::queued:
      return true;
    case PushResult::queued_wake:
      post_pump();
      return true;
    case PushResult::over_limit:
      post_pump();  // the owner closes the connection
      return false;
    case PushResult::dropped:
    case PushResult::closed:
      return false;
  }
  return false;
}

bool Engine::in_own_handlers() const noexcept { return handler_owner == this; }

bool Engine::may_send_direct() const {
  // Once the policy refused a message, nothing after it may slip in (a
  // smaller one would fit): the connection is closing.
  return in_own_handlers() && connection_ && connection_->state() == State::open &&
         !queue_.over_limit();
}

// A send the Connection did not take. Never a silent loss: the sender gets
// false, and past the output bound the slow-subscriber policy applies at
// once, as for messages from other threads: drop_messages counts it; a
// close policy closes the connection with 1013 or 1008 (and later sends
// fail).
bool Engine::refuse_send(std::error_code error) {
  if (error != errc::output_queue_full) return false;  // not_open: closing
  if (options_.backpressure.policy == SlowSubscriberPolicy::drop_messages) {
    queue_.count_dropped();
    return false;
  }
  queue_.mark_over_limit();
  if (!over_limit_handled_ && connection_->state() == State::open) {
    over_limit_handled_ = true;
    (void)connection_->close(queue_.close_code());
  }
  pump_again_ = true;
  return false;
}

bool Engine::send_direct(MessageKind kind, ByteView payload) {
  // What other threads queued before goes first.
  drain_queue();
  if (connection_->state() != State::open || queue_.over_limit()) return false;
  const std::error_code error = kind == MessageKind::text ? connection_->send_text(as_text(payload))
                                                          : connection_->send_binary(payload);
  if (error) return refuse_send(error);
  pump_again_ = true;  // pump() writes it once the handlers return
  return true;
}

// From one of this engine's handlers (on the executor, inside pump()) a
// send to an open connection goes straight into the Connection: no framing
// into a PreparedMessage, no queue, no post. Reading pauses above the
// high-water mark and Limits::max_queued_output bounds it.
bool Engine::deliver(const std::shared_ptr<const PreparedMessage>& message) {
  if (may_send_direct()) {
    if (connection_->role() == Role::client)
      return send_direct(message->kind(), payload_of(*message));
    drain_queue();
    if (connection_->state() != State::open || queue_.over_limit()) return false;
    if (const std::error_code error = connection_->send_prepared(message)) {
      return refuse_send(error);
    }
    pump_again_ = true;
    return true;
  }
  return queue_for_session(message);
}

bool Engine::send_text(std::string_view text) {
  if (may_send_direct()) {
    return send_direct(MessageKind::text, as_bytes(text));
  }
  return queue_for_session(PreparedMessage::make(MessageKind::text, as_bytes(text)));
}

bool Engine::send_binary(ByteView data) {
  if (may_send_direct()) {
    return send_direct(MessageKind::binary, data);
  }
  return queue_for_session(PreparedMessage::make(MessageKind::binary, data));
}

std::error_code Engine::close(CloseCode code, std::string_view reason) {
  if (const std::error_code error = check_close_to_send(static_cast<std::uint16_t>(code), reason)) {
    return error;
  }
  {
    std::lock_guard lock(requests_mutex_);
    if (close_requested_ || ended_.load(std::memory_order_acquire)) return errc::not_open;
    close_requested_ = true;
    close_request_ = CloseRequest{code, std::string(reason)};
  }
  post_pump();
  return {};
}

void Engine::abort() {
  {
    std::lock_guard lock(requests_mutex_);
    abort_request_ = true;
  }
  post_pump();
}

std::uint64_t Engine::dropped_count() const noexcept { return queue_.dropped_count(); }

// ---- Operations ---------------------------------------------------------------

void Engine::begin(Connection connection, CompletionPtr done) {
  connection_.emplace(std::move(connection));
  connection_->advance_time(Clock::now());
  handshake_done_ = std::move(done);
  phase_ = Phase::starting;
  transport_start(connection_->role(), host_);
  pump();
}

void Engine::start_accept(AcceptHandler decide, HttpHandler http, CompletionPtr done) {
  if (phase_ != Phase::idle) {
    complete(done, std::make_error_code(std::errc::already_connected));
    pump();
    return;
  }
  decide_ = std::move(decide);
  http_ = std::move(http);
  Config config = options_.config;
  // With an HTTP handler, requests that are not upgrades reach it.
  if (http_) config.serve_plain_http = true;
  begin(Connection::server(config), std::move(done));
}

void Engine::start_accept_upgrade(const std::string& request_head,
                                  const std::vector<std::byte>& after, const AcceptOptions& options,
                                  CompletionPtr done) {
  if (phase_ != Phase::idle) {
    complete(done, std::make_error_code(std::errc::already_connected));
    pump();
    return;
  }
  Result<Connection> made =
      Connection::accept_upgrade(request_head, ByteView(after), options, options_.config);
  if (made) {
    begin(std::move(*made), std::move(done));
    return;
  }
  // Let a server that reads the request itself answer it: it sends the
  // right error response (400, 426, 431 ...; 500 for bad options) and then
  // closes, and the handshake fails with the original error.
  handshake_error_ = made.error();
  decide_ = [](const UpgradeRequest&) { return AcceptDecision::reject(500); };
  Connection fallback = Connection::server(options_.config);
  (void)fallback.receive(as_bytes(request_head));
  begin(std::move(fallback), std::move(done));
}

void Engine::start_handshake(const std::string& url, const ClientHandshakeOptions& options,
                             CompletionPtr done) {
  if (phase_ != Phase::idle) {
    complete(done, std::make_error_code(std::errc::already_connected));
    pump();
    return;
  }
  Result<Connection> made = Connection::client(url, options, options_.config);
  if (!made) {
    complete(done, made.error());
    pump();
    return;
  }
  if (Result<WsUrl> parsed = parse_ws_url(url)) host_ = parsed->host;
  begin(std::move(*made), std::move(done));
}

void Engine::start_read(std::string* out, CompletionPtr done) {
  if (read_done_) {
    complete(done, std::make_error_code(std::errc::operation_in_progress));
  } else if (closed_seen_ || phase_ == Phase::closed || phase_ == Phase::shutting_down) {
    complete(done, end_error());
  } else if (!connection_ || handshake_done_ || connection_->state() == State::handshaking) {
    complete(done, errc::not_open);
  } else {
    read_done_ = std::move(done);
    read_out_ = out;
  }
  pump();
}

void Engine::start_write(MessageKind kind, ByteView payload, CompletionPtr done) {
  std::error_code error;
  if (writes_.size() >= options_.max_queued_writes) {
    error = errc::output_queue_full;
  } else if (!connection_ || (phase_ != Phase::running && phase_ != Phase::starting)) {
    error = transport_error_ ? transport_error_ : make_error_code(errc::not_open);
  } else {
    error = kind == MessageKind::text ? connection_->send_text(as_text(payload))
                                      : connection_->send_binary(payload);
  }
  if (error) {
    complete(done, error);
  } else {
    writes_.push_back(PendingWrite{written_ + connection_->pending_output_size(), std::move(done)});
  }
  pump();
}

void Engine::start_ping(const std::vector<std::byte>& payload, CompletionPtr done) {
  std::error_code error;
  if (writes_.size() >= options_.max_queued_writes) {
    error = errc::output_queue_full;
  } else if (!connection_ || (phase_ != Phase::running && phase_ != Phase::starting)) {
    error = transport_error_ ? transport_error_ : make_error_code(errc::not_open);
  } else {
    error = connection_->ping(ByteView(payload));
  }
  if (error) {
    complete(done, error);
  } else {
    writes_.push_back(PendingWrite{written_ + connection_->pending_output_size(), std::move(done)});
  }
  pump();
}

void Engine::start_close(CloseCode code, const std::string& reason, CompletionPtr done) {
  if (close_done_) {
    complete(done, std::make_error_code(std::errc::operation_in_progress));
  } else if (phase_ == Phase::closed) {
    complete(done, closed_seen_ ? close_info_.error : end_error());
  } else if (!connection_ || connection_->state() == State::handshaking) {
    complete(done, errc::not_open);
  } else {
    std::error_code error;
    if (connection_->state() == State::open) error = connection_->close(code, reason);
    if (error) {
      complete(done, error);
    } else {
      close_done_ = std::move(done);  // completes when the transport is closed
    }
  }
  pump();
}

// ---- Accessors ----------------------------------------------------------------

bool Engine::is_open() const noexcept {
  return connection_ && phase_ == Phase::running && !handshake_done_ &&
         connection_->state() == State::open;
}

const UpgradeRequest* Engine::request() const noexcept {
  return connection_ ? connection_->request() : nullptr;
}

std::string_view Engine::subprotocol() const noexcept {
  return connection_ ? connection_->subprotocol() : std::string_view{};
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

MutableByteView Engine::input_space() { return connection_->receive_buffer(); }

std::size_t Engine::input_room() { return connection_->receive_buffer().size(); }

void Engine::input_committed(std::size_t n) {
  connection_->commit_received(n);
  turn_bytes_ += n;
  const TimePoint now = Clock::now();
  connection_->advance_time(now);
  if (n > 0) note_traffic(now);
}

std::size_t Engine::input_offered(ByteView bytes) {
  const std::size_t taken = connection_->receive(bytes);
  turn_bytes_ += taken;
  const TimePoint now = Clock::now();
  connection_->advance_time(now);
  if (taken > 0) note_traffic(now);
  return taken;
}

void Engine::note_traffic(TimePoint now) noexcept {
  buffers_in_use_ = true;
  release_due_ = false;
  last_traffic_ = now;
}

void Engine::read_finished(std::error_code error, bool end_of_stream) {
  reading_ = false;
  if (phase_ != Phase::running) return;
  if (end_of_stream) {
    peer_ended_ = true;
    connection_->receive_eof();
  } else if (error) {
    connection_->receive_eof();
    fail_transport(error);
  }
  pump();
}

std::span<const OutputBuffer> Engine::output() { return connection_->pending_output(); }

void Engine::output_sent(std::size_t n) {
  connection_->consume_output(n);
  written_ += n;
  last_write_progress_ = Clock::now();
  note_traffic(last_write_progress_);
  while (!writes_.empty() && writes_.front().end <= written_) {
    complete(writes_.front().done, {});
    writes_.pop_front();
  }
}

void Engine::write_finished(std::error_code error) {
  writing_ = false;
  if (phase_ != Phase::running) return;
  if (error) fail_transport(error);
  pump();
}

void Engine::transport_ready(std::error_code error) {
  if (phase_ != Phase::starting) return;
  if (error) {
    fail_transport(error);
  } else {
    phase_ = Phase::running;
  }
  pump();
}

void Engine::transport_closed() {
  phase_ = Phase::closed;
  reading_ = false;
  writing_ = false;
  schedule_timer(std::nullopt);
  pump();
}

void Engine::timer_fired() {
  const TimePoint now = Clock::now();
  if (phase_ == Phase::shutting_down) {
    if (shutdown_deadline_ && now >= *shutdown_deadline_) {
      transport_abort();  // the peer did not end the stream in time
    } else {
      update_timer();
    }
    return;
  }
  if (phase_ != Phase::starting && phase_ != Phase::running) return;
  if (writing_ && options_.write_timeout.count() > 0 &&
      now - last_write_progress_ >= options_.write_timeout) {
    fail_transport(std::make_error_code(std::errc::timed_out));
  } else {
    connection_->advance_time(now);
  }
  if (buffers_in_use_ && options_.release_idle_buffers_after.count() > 0 &&
      now >= last_traffic_ + options_.release_idle_buffers_after) {
    release_due_ = true;  // update_timer() frees the buffers once it may
  }
  pump();
}

// ---- The engine -------------------------------------------------------------------

void Engine::pump() {
  if (pumping_) {
    pump_again_ = true;  // a transport finished synchronously inside step()
    return;
  }
  const std::shared_ptr<Engine> keep = shared_from_this();
  // Restores the flags even when a handler throws.
  struct Guard {
    Engine& engine;
    const Engine* outer;
    ~Guard() {
      engine.pumping_ = false;
      engine.turn_bytes_ = 0;  // the next turn on the executor takes a fresh budget
      handler_owner = outer;
    }
  } guard{*this, handler_owner};
  pumping_ = true;
  yield_posted_ = false;
  for (std::size_t round = 0;; ++round) {
    do {
      pump_again_ = false;
      step();
    } while (pump_again_);
    if (ready_.empty()) {
      if (!read_delivered_) break;
      read_delivered_ = false;  // its handler is gone: write what was held back
      continue;
    }
    // Handlers run with the engine consistent and pumping_ still set, so
    // nothing they do re-enters step(). An operation they start on this
    // engine runs in the next round instead of being posted (a read loop
    // then takes every message already received, and one write sends all
    // the answers), up to max_inline_rounds; past that, starts are posted
    // and other work on the executor gets its turn.
    read_delivered_ = false;
    handler_owner = round < max_inline_rounds ? this : nullptr;
    invoke_ready();
    handler_owner = guard.outer;
  }
}

void Engine::invoke_ready() {
  invoking_.clear();
  invoking_.swap(ready_);
  // pump() runs on the executor: handlers bound to it need no dispatch.
  for (Ready& item : invoking_) item.done->invoke_on_io_executor(item.error, item.kind);
  invoking_.clear();
}

void Engine::step() {
  if (phase_ == Phase::closed) {
    finish();
    return;
  }
  if (phase_ == Phase::shutting_down) return;
  apply_requests();
  if (phase_ != Phase::starting && phase_ != Phase::running) return;
  process_events();
  drain_queue();
  if (phase_ == Phase::starting) {
    // Only time passes until the transport is ready (a TLS handshake).
    if (closed_seen_) {
      fail_transport(close_info_.error ? close_info_.error : canceled());
    } else {
      update_timer();
    }
    return;
  }
  if (phase_ != Phase::running) return;

  // A read just completed: its handler runs next and may answer, so the
  // write waits for that round (pump() always steps again after handlers)
  // and sends everything in one gathered write.
  const std::size_t pending = connection_->pending_output_size();
  const bool defer = read_delivered_ && pending < max_deferred_output;
  if (!writing_ && pending > 0 && !defer) {
    writing_ = true;
    last_write_progress_ = Clock::now();
    transport_write();
    if (phase_ != Phase::running) return;
  }
  if (!writing_ && !defer && connection_->should_close_transport()) {
    start_shutdown();
    return;
  }
  if (!reading_ && wants_input()) {
    if (turn_bytes_ >= options_.fairness.bytes_per_turn) {
      // The turn's input budget is spent (a peer flooding frames that
      // complete no message never gives a handler the chance to yield):
      // go on after the other work on the executor had its turn.
      if (!yield_posted_) {
        yield_posted_ = true;
        post_pump();
      }
    } else {
      reading_ = true;
      transport_read();
      if (phase_ != Phase::running) return;
    }
  }
  queue_.set_owner_pending(connection_->pending_output_size());
  update_timer();
}

void Engine::apply_requests() {
  std::optional<CloseRequest> close;
  bool abort = false;
  {
    std::lock_guard lock(requests_mutex_);
    close.swap(close_request_);
    abort = std::exchange(abort_request_, false);
  }
  if (abort) {
    fail_transport(canceled());
    return;
  }
  if (!connection_) return;
  if (close) {
    if (connection_->state() == State::open) {
      // Checked by Session::close(): the code is sent as asked.
      (void)connection_->close(close->code, close->reason);
    } else if (connection_->state() == State::handshaking) {
      fail_transport(canceled());
      return;
    }
  }
  if (queue_.over_limit() && !over_limit_handled_ && connection_->state() == State::open) {
    over_limit_handled_ = true;
    (void)connection_->close(queue_.close_code());
  }
}

void Engine::process_events() {
  while (connection_ && !closed_seen_) {
    // An open connection is read only for a pending read: unread messages
    // wait in the Connection (and in the socket: TCP pushes back).
    if (connection_->state() == State::open && !read_done_ && !handshake_done_) break;
    std::optional<Event> event = connection_->next_event();
    if (!event) break;
    handle(*event);
  }
}

void Engine::handle(const Event& event) {
  if (const auto* upgrade = std::get_if<UpgradeRequested>(&event)) {
    const AcceptDecision decision = decide_ ? decide_(*upgrade->request) : AcceptDecision{};
    if (decision.accept) {
      if (const std::error_code error = connection_->accept(decision.options)) {
        handshake_error_ = error;
        (void)connection_->reject(500);
      }
    } else if (connection_->reject(decision.status, decision.body, decision.headers)) {
      (void)connection_->reject(500);
    }
  } else if (const auto* http = std::get_if<HttpRequested>(&event)) {
    // Only with Config::serve_plain_http: set for an http_ handler, or by
    // the application itself (then every such request gets a 404).
    const HttpAnswer answer = http_ ? http_(*http->head) : HttpAnswer{};
    if (connection_->reject(answer.status, answer.body, answer.headers)) {
      (void)connection_->reject(500);
    }
  } else if (std::holds_alternative<Opened>(event)) {
    complete(handshake_done_, {});
  } else if (const auto* rejected = std::get_if<Rejected>(&event)) {
    rejection_status_ = rejected->status;
  } else if (const auto* message = std::get_if<Message>(&event)) {
    // Without a pending read the message arrived while closing: dropped.
    if (read_done_) {
      read_out_->assign(message->text());
      read_out_ = nullptr;
      complete(read_done_, {}, message->kind);
      read_delivered_ = true;
    }
  } else if (const auto* ping = std::get_if<Ping>(&event)) {
    if (control_) control_(ControlKind::ping, ping->payload);
  } else if (const auto* pong = std::get_if<Pong>(&event)) {
    if (control_) control_(ControlKind::pong, pong->payload);
  } else if (const auto* closed = std::get_if<Closed>(&event)) {
    closed_seen_ = true;
    close_info_ =
        CloseInfo{closed->code, std::string(closed->reason), closed->error, closed->sent_code};
    if (handshake_done_) {
      complete(handshake_done_, handshake_error_ ? handshake_error_ : end_error());
    }
    if (read_done_) {
      read_out_ = nullptr;
      complete(read_done_, end_error());
    }
    end_channels();
  }
}

void Engine::drain_queue() {
  if (!connection_ || connection_->state() != State::open) return;
  queue_.take_all(batch_);
  for (const std::shared_ptr<const PreparedMessage>& message : batch_) {
    std::error_code error;
    if (connection_->role() == Role::server) {
      error = connection_->send_prepared(message);
    } else {
      // A client masks every frame afresh (RFC 6455 5.3): re-frame the payload.
      const ByteView payload = payload_of(*message);
      error = message->kind() == MessageKind::text ? connection_->send_text(as_text(payload))
                                                   : connection_->send_binary(payload);
    }
    // The Connection's own bound (Limits::max_queued_output) was reached
    // before high_water: the same policy applies. Later messages of the
    // batch are refused too (not_open, or over the limit).
    if (error) (void)refuse_send(error);
  }
  batch_.clear();
  queue_.set_owner_pending(connection_->pending_output_size());
}

bool Engine::wants_input() {
  if (!connection_ || peer_ended_) return false;
  if (connection_->state() == State::open) {
    if (!read_done_) return false;
    // Backpressure: stop taking work from a peer that does not take ours.
    const std::size_t pending = connection_->pending_output_size();
    if (paused_ && pending <= options_.backpressure.low_water) paused_ = false;
    if (!paused_ && pending > options_.backpressure.high_water) paused_ = true;
    if (paused_) return false;
  }
  return input_room() > 0;
}

void Engine::update_timer() {
  std::optional<TimePoint> when;
  if (phase_ == Phase::shutting_down) {
    when = shutdown_deadline_;
  } else if (connection_ && (phase_ == Phase::starting || phase_ == Phase::running)) {
    when = connection_->next_deadline();
    if (writing_ && options_.write_timeout.count() > 0) {
      const TimePoint stall = last_write_progress_ + options_.write_timeout;
      if (!when || stall < *when) when = stall;
    }
    // No clock is read here (this runs for every step): timer_fired() tells
    // when the idle time has passed, and the timer stays armed meanwhile, so
    // steady traffic does not re-arm it for every message.
    if (buffers_in_use_ && options_.release_idle_buffers_after.count() > 0) {
      if (!release_due_) {
        const TimePoint release = last_traffic_ + options_.release_idle_buffers_after;
        if (!when || release < *when) when = release;
      } else if (may_release_buffers()) {
        connection_->release_idle_buffers();
        buffers_in_use_ = false;
        release_due_ = false;
      }
    }
  }
  schedule_timer(when);
}

// Whether the Connection's buffers may be freed now that the idle time has
// passed: everything written. A read may be in flight: the transports read
// into the Connection only synchronously (TCP) or through a buffer of their
// own (TLS), so none points into what is freed. Buffers that still hold
// bytes (messages the application has not read yet, a partial frame) are
// kept by the Connection itself.
bool Engine::may_release_buffers() const {
  return phase_ == Phase::running && !writing_ && connection_->pending_output_size() == 0;
}

void Engine::start_shutdown() {
  phase_ = Phase::shutting_down;
  end_channels();
  shutdown_deadline_ = Clock::now() + linger_time(options_.config);
  update_timer();
  transport_shutdown(peer_ended_);
}

void Engine::fail_transport(std::error_code error) {
  if (!transport_error_) transport_error_ = error;
  if (phase_ == Phase::closed) return;
  phase_ = Phase::shutting_down;
  transport_abort();
}

void Engine::end_channels() {
  if (channels_ended_) return;
  channels_ended_ = true;
  ended_.store(true, std::memory_order_release);
  queue_.close();
  if (options_.registry != nullptr) options_.registry->leave_all(this);
}

void Engine::finish() {
  end_channels();
  if (!closed_seen_ && !close_info_.error) {
    // No Closed event (the transport failed, or the write timeout ended it):
    // say why.
    close_info_.error = end_error();
  }
  // The application's callbacks may own the Stream: let go of them.
  decide_ = nullptr;
  http_ = nullptr;
  control_ = nullptr;
  const std::error_code end = end_error();
  if (handshake_done_) complete(handshake_done_, handshake_error_ ? handshake_error_ : end);
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

std::error_code Engine::end_error() const {
  if (closed_seen_) return close_info_.error ? close_info_.error : errc::connection_closed;
  if (transport_error_) return transport_error_;
  return errc::unexpected_eof;
}

}  // namespace ws::asio::detail
