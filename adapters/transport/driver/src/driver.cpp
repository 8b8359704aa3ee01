#include "ws/driver/driver.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <variant>

#include "dispatch_scope.hpp"
#include "ws/base/error.hpp"

namespace ws {

namespace detail {
namespace {
thread_local const Session* dispatching = nullptr;
}  // namespace

const Session* dispatching_session() noexcept { return dispatching; }

DispatchScope::DispatchScope(const Session* session) noexcept : previous_(dispatching) {
  dispatching = session;
}

DispatchScope::~DispatchScope() { dispatching = previous_; }

}  // namespace detail

namespace {

std::optional<TimePoint> earliest(std::optional<TimePoint> a, std::optional<TimePoint> b) noexcept {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

}  // namespace

Config server_config() {
  using std::chrono::seconds;
  Config config;
  config.timeouts.handshake_timeout = seconds(10);
  config.timeouts.keepalive_interval = seconds(30);
  config.timeouts.idle_timeout = seconds(75);
  return config;
}

Result<std::unique_ptr<StreamLayer>> make_stream_layer(const DriverOptions& options, Role role,
                                                       std::string_view host) {
  if (!options.stream_layer) return std::unique_ptr<StreamLayer>();
  return options.stream_layer->make(role, host);
}

Result<ClientPath> client_path(const ClientOptions& options, const WsUrl& url) {
  // wss:// needs the layer that speaks TLS; a route does not provide one.
  // ws:// gets none even when the options carry it: the URL's scheme says
  // what the server speaks (a client that follows a redirect meets both).
  if (url.secure && !options.stream_layer) return make_error_code(errc::invalid_url);
  Result<std::unique_ptr<StreamLayer>> layer =
      url.secure ? make_stream_layer(options, Role::client, url.host)
                 : Result<std::unique_ptr<StreamLayer>>(std::unique_ptr<StreamLayer>());
  if (!layer) return layer.error();
  if (!options.route) return ClientPath{ClientHop{url.host, url.port}, std::move(*layer)};
  Result<std::unique_ptr<StreamLayer>> routed = options.route->layer(url, std::move(*layer));
  if (!routed) return routed.error();
  return ClientPath{options.route->hop(url), std::move(*routed)};
}

Driver::Driver(Connection connection, std::shared_ptr<const Handler> handler, DriverOptions options,
               std::shared_ptr<Waker> waker, std::unique_ptr<StreamLayer> layer)
    : Driver(std::move(connection), std::move(handler),
             std::make_shared<const DriverOptions>(std::move(options)), std::move(waker),
             std::move(layer)) {}

Driver::Driver(Connection connection, std::shared_ptr<const Handler> handler,
               std::shared_ptr<const DriverOptions> options, std::shared_ptr<Waker> waker,
               std::unique_ptr<StreamLayer> layer)
    : connection_(std::move(connection)),
      layer_(std::move(layer)),
      handler_(std::move(handler)),
      options_(std::move(options)),
      session_(std::make_shared<Session>(Session::Key{}, connection_.role(), options_->backpressure,
                                         std::move(waker))),
      report_close_(connection_.role() == Role::client) {
  session_->driver_ = this;
  if (const UpgradeRequest* request = connection_.request()) {
    // accept_upgrade(): the request came with the connection, so the
    // session can tell it before the transport even starts.
    session_->request_ = std::make_unique<const UpgradeRequest>(*request);
    connection_.release_request();
  }
}

Driver::~Driver() {
  if (!finished_) release();
  session_->driver_ = nullptr;
}

// ---- Bytes in ----------------------------------------------------------------

bool Driver::wants_read() const noexcept {
  if (ended_ || eof_ || paused_ || turn_bytes_ >= options_->fairness.bytes_per_turn) return false;
  // With a layer: not once its stream ended or failed, nor while it holds
  // as much undecoded input as it takes (the Connection is full).
  return !layer_ || (!layer_stream_ended_ && layer_->wire_room() > 0);
}

std::size_t Driver::receive_room() const noexcept {
  if (!wants_read()) return 0;
  return layer_ ? layer_->wire_room() : connection_.receive_room();
}

MutableByteView Driver::receive_buffer() {
  if (!wants_read()) return {};
  return layer_ ? layer_->wire_buffer() : connection_.receive_buffer();
}

void Driver::commit_received(std::size_t n) noexcept {
  turn_bytes_ += n;
  if (n > 0) traffic_ = true;
  if (layer_) {
    layer_->commit_wire(n);
    pull_from_layer();
  } else {
    connection_.commit_received(n);
  }
}

std::size_t Driver::receive(ByteView bytes) {
  const std::size_t taken = layer_ ? layer_->receive_wire(bytes) : connection_.receive(bytes);
  turn_bytes_ += taken;
  if (taken > 0) traffic_ = true;
  if (layer_) pull_from_layer();
  return taken;
}

void Driver::receive_eof() noexcept {
  if (eof_) return;
  eof_ = true;
  if (layer_ && !transport_error_) {
    // The layer decides what the end of the wire means (TLS: the end of
    // its stream, with or without close_notify; an error mid-handshake).
    // It may still hold bytes the Connection has no room for yet: its
    // stream ends when it says so, once they went (pull_from_layer, at
    // each step while the stream has not ended: next_deadline).
    layer_->receive_wire_eof();
    pull_from_layer();
    return;
  }
  end_layer_stream();
}

void Driver::transport_failed(std::error_code error) noexcept {
  if (!transport_error_) transport_error_ = error;
  receive_eof();
}

void Driver::pull_from_layer() noexcept {
  if (layer_stream_ended_) return;
  while (connection_.receive_room() > 0) {
    const std::size_t n = layer_->read(connection_.receive_buffer());
    if (n == 0) break;
    connection_.commit_received(n);
    layer_read_ = true;
  }
  if (layer_failed()) return;
  if (layer_->read_ended()) end_layer_stream();
  // The layer's handshake may have completed: what waited for it (a
  // client's upgrade request) can go now.
  push_to_layer();
}

bool Driver::layer_failed() noexcept {
  const std::error_code error = layer_->error();
  if (!error) return false;
  // A malformed record, a failed handshake, a refused certificate: the
  // stream is unusable, and on_close says why.
  end(error);
  layer_stream_ended_ = true;
  return true;
}

void Driver::end_layer_stream() noexcept {
  layer_stream_ended_ = true;
  connection_.receive_eof();
}

void Driver::push_to_layer() noexcept {
  if (!layer_ || ended_) return;
  while (connection_.pending_output_size() > 0) {
    const std::size_t taken = layer_->write(connection_.pending_output());
    if (taken == 0) break;
    connection_.consume_output(taken);
  }
  // Encoding can fail too (its handshake, driven by the write).
  if (layer_failed()) return;
  // The close handshake is done and written into the layer: end the
  // layer's stream too (TLS close_notify), then the transport may close.
  if (connection_.should_close_transport() && !layer_->shutdown_started()) layer_->shutdown();
}

std::size_t Driver::output_backlog() const noexcept {
  return connection_.pending_output_size() + (layer_ ? layer_->pending_wire_size() : 0);
}

// ---- Bytes out ---------------------------------------------------------------

bool Driver::wants_write() const noexcept { return pending_output_size() > 0; }

std::span<const OutputBuffer> Driver::pending_output() {
  if (!layer_) return connection_.pending_output();
  push_to_layer();
  return layer_->pending_wire();
}

std::size_t Driver::pending_output_size() const noexcept {
  return layer_ ? layer_->pending_wire_size() : connection_.pending_output_size();
}

void Driver::consume_output(std::size_t n) noexcept {
  if (n == 0) return;
  if (layer_) {
    layer_->consume_wire(n);
    push_to_layer();  // what the layer's bound held back
  } else {
    connection_.consume_output(n);
  }
  if (started_) {
    // Written right after the step that produced it: that step's time is
    // the time of this traffic (waiting for the next step would date it
    // as late as the idle deadline itself, and double the idle wait).
    last_traffic_ = now_;
    buffers_in_use_ = true;
  } else {
    traffic_ = true;
  }
  if (output_backlog() == 0 || !started_) {
    // Nothing left, or no time given yet: the next step starts the clock.
    stalled_since_.reset();
  } else {
    stalled_since_ = now_;  // progress
  }
  update_pause();
  note_pending();
}

void Driver::mark_output_in_flight(std::size_t n) noexcept {
  if (layer_) {
    layer_->mark_wire_in_flight(n);
  } else {
    connection_.mark_output_in_flight(n);
  }
}

// ---- Work ----------------------------------------------------------------------

Driver::Turn Driver::step(TimePoint now) {
  if (finished_) return Turn::done;
  now_ = now;
  started_ = true;
  connection_.advance_time(now);
  if (traffic_) {
    last_traffic_ = now;
    buffers_in_use_ = true;
    traffic_ = false;
  }

  Turn turn = Turn::done;
  if (!opened_ && !ended_ && !closed_seen_ && connection_.state() == State::open) {
    // A connection that starts open (after_handshake, accept_upgrade) opens
    // for the handler before any of its messages; a later Opened from the
    // Connection is then ignored.
    const detail::DispatchScope scope(session_.get());
    handle(Opened{connection_.subprotocol(), connection_.extensions()});
  }
  // What other threads queued before this turn goes out before anything
  // this turn parses: a close reply among it must follow those messages.
  if (!ended_ && !closed_seen_ && connection_.state() == State::open) send_queued();
  if (!ended_) {
    std::size_t handled = 0;
    if (layer_) pull_from_layer();
    // A handler may hold events (an Asio read completed): the next event
    // stays in the Connection.
    while (!ended_ && !hold_events_) {
      if (handled == options_->fairness.events_per_turn) {
        turn = Turn::yield;
        break;
      }
      std::optional<Event> event = connection_.next_event();
      if (!event && layer_) {
        // The layer may hold decoded bytes that did not fit before these
        // events made room, or say only now that its stream ended.
        layer_read_ = false;
        const bool ended_before = layer_stream_ended_;
        pull_from_layer();
        if (layer_read_ || layer_stream_ended_ != ended_before) event = connection_.next_event();
      }
      if (!event) break;
      ++handled;
      {
        const detail::DispatchScope scope(session_.get());
        handle(*event);
      }
      // What other threads queued goes into the Connection before the next
      // event is parsed: if that event is the peer's close, the close reply
      // must follow the messages sent before it.
      if (!ended_ && connection_.state() == State::open) send_queued();
    }
  }
  if (!ended_) apply_requests();
  if (!ended_) apply_policy();
  push_to_layer();

  const std::size_t pending = output_backlog();
  if (pending == 0) {
    stalled_since_.reset();
  } else if (!stalled_since_) {
    stalled_since_ = now;
  }
  const Duration stall_limit = options_->write_stall_timeout;
  if (!ended_ && stalled_since_ && stall_limit.count() > 0 &&
      now - *stalled_since_ >= stall_limit) {
    // The peer takes nothing: nothing more can be said to it, and what it
    // holds (queued output, a descriptor) must go.
    end(std::make_error_code(std::errc::timed_out));
  }

  update_pause();
  note_pending();
  if (paused_ != pause_reported_ && !closed_seen_) {
    pause_reported_ = paused_;
    if (handler_->on_backpressure) {
      const detail::DispatchScope scope(session_.get());
      handler_->on_backpressure(session_, paused_);
    }
  }

  // An idle connection keeps no buffers, but not at once: steady traffic
  // would then allocate them again for every message.
  const Duration release_after = options_->release_idle_buffers_after;
  if (!ended_ && buffers_in_use_ && turn == Turn::done && release_after.count() > 0 &&
      output_backlog() == 0 && now - last_traffic_ >= release_after) {
    connection_.release_idle_buffers();
    if (layer_) layer_->release_idle_buffers();
    buffers_in_use_ = false;
    buffers_released_ = true;
  }
  turn_bytes_ = 0;
  return turn;
}

std::optional<TimePoint> Driver::next_deadline() const noexcept {
  if (finished_) return std::nullopt;
  if (ended_) return now_;
  std::optional<TimePoint> deadline = connection_.next_deadline();
  // The stream ended (or failed during a write) since the last step: the
  // next step lets the Connection say what that means.
  if ((eof_ || layer_stream_ended_) && !closed_seen_) deadline = earliest(deadline, now_);
  if (paused_ != pause_reported_ && !closed_seen_) deadline = earliest(deadline, now_);
  if (stalled_since_ && options_->write_stall_timeout.count() > 0) {
    deadline = earliest(deadline, *stalled_since_ + options_->write_stall_timeout);
  }
  if ((buffers_in_use_ || traffic_) && options_->release_idle_buffers_after.count() > 0 &&
      output_backlog() == 0) {
    const TimePoint last = traffic_ ? now_ : last_traffic_;
    deadline = earliest(deadline, last + options_->release_idle_buffers_after);
  }
  return deadline;
}

bool Driver::should_close_transport() const noexcept {
  if (finished_) return false;
  if (ended_) return true;
  if (connection_.should_close_transport()) {
    // With a layer, its own end (TLS close_notify) goes out first, unless
    // the stream is broken.
    return !layer_ || transport_error_ ||
           (layer_->shutdown_started() && layer_->pending_wire_size() == 0);
  }
  if (!closed_seen_) return false;
  // Closed before the layer's own handshake completed (a TLS handshake or
  // a proxy that never answered, the handshake timeout): what the
  // Connection still holds (a client's upgrade request) can never go out,
  // so nothing is left to wait for.
  if (layer_ && !layer_->handshake_done()) return true;
  // Closed, and the stream can carry nothing more.
  return transport_error_ || (eof_ && output_backlog() == 0);
}

void Driver::transport_closed() {
  if (finished_) return;
  if (!closed_seen_ && !end_error_) {
    // The stream ended under us: let the Connection say what that means
    // (1006 unless the close handshake was done), and hand over what it had.
    receive_eof();
    while (!closed_seen_) {
      std::optional<Event> event = connection_.next_event();
      if (!event) break;
      const detail::DispatchScope scope(session_.get());
      handle(*event);
    }
  }
  if (!closed_seen_) {
    Closed closed;
    closed.error = end_error_ ? end_error_ : make_error_code(errc::unexpected_eof);
    // The stream layer ended it (a proxy refused the tunnel): no close frame
    // carries a reason, so what the layer's peer said takes its place. The
    // layer outlives the handler call.
    if (layer_ && end_error_ && end_error_ == layer_->error())
      closed.reason = layer_->error_detail();
    report_closed(closed);
  }
  finished_ = true;
  release();
}

// ---- Transport-side controls -----------------------------------------------------

void Driver::close_going_away() {
  if (ended_ || closed_seen_) return;
  if (connection_.state() == State::handshaking) {
    end(std::make_error_code(std::errc::operation_canceled));
    return;
  }
  if (connection_.state() == State::open) send_final_queued();
  if (!connection_.close(CloseCode::going_away)) session_->mark_closing();
}

void Driver::abort(std::error_code why) { end(why); }

// ---- For Session -----------------------------------------------------------------

std::error_code Driver::send_direct(MessageKind kind, ByteView payload) {
  if (closed_seen_ || ended_ || connection_.state() != State::open) return errc::not_open;
  // The policy fired earlier in this turn: nothing may slip out before its
  // close frame.
  if (session_->outbox_.over_limit()) return errc::output_queue_full;
  send_queued();  // what other threads queued before goes first
  if (session_->outbox_.over_limit()) return errc::output_queue_full;  // tripped by that
  const std::error_code error = kind == MessageKind::text ? connection_.send_text(as_text(payload))
                                                          : connection_.send_binary(payload);
  if (error == errc::output_queue_full) {
    if (options_->backpressure.policy == SlowSubscriberPolicy::drop_messages) {
      session_->outbox_.count_dropped();
    } else {
      session_->outbox_.mark_over_limit();  // closed with the policy's code this turn
    }
  }
  return error;
}

std::error_code Driver::send_direct(const std::shared_ptr<const PreparedMessage>& message) {
  if (closed_seen_ || ended_ || connection_.state() != State::open) return errc::not_open;
  if (session_->outbox_.over_limit()) return errc::output_queue_full;
  send_queued();
  if (session_->outbox_.over_limit()) return errc::output_queue_full;
  return send_one(message);
}

std::error_code Driver::send(MessageKind kind, ByteView payload, Fin fin) {
  if (closed_seen_ || ended_ || connection_.state() != State::open) return errc::not_open;
  send_queued();
  return kind == MessageKind::text ? connection_.send_text(as_text(payload), fin)
                                   : connection_.send_binary(payload, fin);
}

std::error_code Driver::ping(ByteView payload) {
  if (closed_seen_ || ended_) return errc::not_open;
  return connection_.ping(payload);
}

std::error_code Driver::close(std::uint16_t code, std::string_view reason) {
  return close_direct(code, reason);
}

std::error_code Driver::close_direct(std::uint16_t code, std::string_view reason) {
  if (closed_seen_ || ended_) return errc::not_open;
  if (connection_.state() == State::handshaking) {
    end(std::make_error_code(std::errc::operation_canceled));
    return {};
  }
  if (const std::error_code invalid = check_close_to_send(code, reason)) return invalid;
  if (connection_.state() == State::open) send_final_queued();
  const std::error_code error = connection_.close(code, reason);
  // Nothing sent after the close could go out: refuse it now rather than
  // drop it when the connection ends.
  if (!error) session_->mark_closing();
  return error;
}

// ---- Internals ---------------------------------------------------------------------

void Driver::handle(const Event& event) {
  const Handler& handler = *handler_;
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, UpgradeRequested>) {
          answer_upgrade(*e.request);
        } else if constexpr (std::is_same_v<T, HttpRequested>) {
          const HttpAnswer answer =
              handler.on_http ? handler.on_http(*e.head) : HttpAnswer{404, "not found\n", {}};
          if (connection_.reject(answer.status, answer.body, answer.headers)) {
            (void)connection_.reject(500, "the server's HTTP answer is invalid\n");
          }
        } else if constexpr (std::is_same_v<T, Opened>) {
          if (opened_) return;
          session_->subprotocol_ = std::string(e.subprotocol);
          if (!session_->request_ && connection_.request() != nullptr) {
            // accept_upgrade(): the request came with the connection.
            session_->request_ = std::make_unique<const UpgradeRequest>(*connection_.request());
            connection_.release_request();
          }
          if (options_->registry != nullptr && options_->join_path_channel && session_->request_) {
            options_->registry->join(session_->request_->path, session_);
          }
          session_->mark_open();
          opened_ = true;
          report_close_ = true;
          if (handler.on_open) handler.on_open(session_);
          if (!options_->keep_request) session_->request_.reset();
        } else if constexpr (std::is_same_v<T, Message>) {
          if (handler.on_message) handler.on_message(session_, e);
        } else if constexpr (std::is_same_v<T, Ping>) {
          if (handler.on_ping) handler.on_ping(session_, e);
        } else if constexpr (std::is_same_v<T, Pong>) {
          if (handler.on_pong) handler.on_pong(session_, e);
        } else if constexpr (std::is_same_v<T, Rejected>) {
          if (handler.on_rejected) handler.on_rejected(session_, e);
        } else if constexpr (std::is_same_v<T, Closed>) {
          report_closed(e);
        }
      },
      event);
}

void Driver::answer_upgrade(const UpgradeRequest& request) {
  const UpgradeDecision decision = handler_->on_upgrade
                                       ? handler_->on_upgrade(request)
                                       : UpgradeDecision::accept_with(options_->accept);
  if (decision.accept) {
    session_->request_ = std::make_unique<const UpgradeRequest>(request);
    if (const std::error_code error = connection_.accept(decision.options)) {
      // The application's options were not valid HTTP: answer anyway.
      accept_error_ = error;
      (void)connection_.reject(500, "the server's accept options are invalid\n");
    } else {
      connection_.release_request();  // the session keeps its own copy
    }
  } else if (connection_.reject(decision.status, decision.body, decision.headers)) {
    (void)connection_.reject(500, "the server's rejection is invalid\n");
  }
}

void Driver::report_closed(const Closed& closed) {
  if (closed_seen_) return;
  closed_seen_ = true;
  result_ = closed.error;
  session_->mark_ended();
  if (options_->registry != nullptr) options_->registry->leave_all(session_.get());
  if (report_close_ && handler_->on_close) {
    const detail::DispatchScope scope(session_.get());
    handler_->on_close(session_, closed);
  }
}

void Driver::apply_requests() {
  const Session::Requests requests = session_->take_requests();
  if (requests.abort) {
    // Also after Closed: output stuck behind a peer that does not read.
    end(std::make_error_code(std::errc::operation_canceled));
    return;
  }
  if (closed_seen_) return;
  // Messages first: a close requested after them goes out after them.
  if (requests.close && connection_.state() == State::handshaking) {
    end(std::make_error_code(std::errc::operation_canceled));
    return;
  }
  if (connection_.state() == State::open) {
    if (requests.close) {
      send_final_queued();
    } else {
      send_queued();
    }
  }
  if (requests.close) {
    (void)connection_.close(requests.close->code, requests.close->reason);
    session_->mark_closing();
  }
}

void Driver::send_final_queued() {
  // Refuse later pushes and take what was queued in one step, so that a
  // message is either sent before the close frame or refused at once.
  session_->outbox_.close_and_take(batch_);
  send_batch();
}

void Driver::send_queued() {
  session_->outbox_.take_all(batch_);
  send_batch();
}

void Driver::send_batch() {
  if (batch_.empty()) return;
  for (const std::shared_ptr<const PreparedMessage>& message : batch_) {
    const std::error_code error = send_one(message);
    if (error == errc::output_queue_full) {
      // The Connection's own bound (Limits::max_queued_output) was reached
      // before high_water: the same policy applies.
      if (options_->backpressure.policy == SlowSubscriberPolicy::drop_messages) {
        session_->outbox_.count_dropped();
      } else {
        session_->outbox_.mark_over_limit();
      }
    } else if (error) {
      break;  // not_open: the connection is closing; the outbox is closed too
    }
  }
  batch_.clear();
  note_pending();
}

std::error_code Driver::send_one(const std::shared_ptr<const PreparedMessage>& message) {
  if (connection_.role() == Role::server) return connection_.send_prepared(message);
  // A client masks each frame with a fresh key, so it cannot reuse the
  // prepared bytes: it sends the payload.
  const ByteView payload = message->payload();
  return message->kind() == MessageKind::text ? connection_.send_text(as_text(payload))
                                              : connection_.send_binary(payload);
}

void Driver::apply_policy() {
  if (closed_seen_ || policy_close_sent_ || !session_->outbox_.over_limit()) return;
  if (connection_.state() == State::handshaking) {
    // A client queued past the limit before it even opened.
    end(make_error_code(errc::output_queue_full));
    return;
  }
  // RFC 6455 7.4.1: 1013 asks the peer to try again later, 1008 says it
  // broke the policy (here: it reads too slowly).
  policy_close_sent_ = true;
  session_->mark_closing();
  (void)connection_.close(session_->outbox_.close_code());
  // It hears nothing more: out of its channels now, not after the close
  // handshake with a peer that does not read.
  if (options_->registry != nullptr) options_->registry->leave_all(session_.get());
}

void Driver::update_pause() noexcept {
  // Pause halfway between the marks, so the application hears of the
  // backlog (and the peer is slowed) before the slow-subscriber policy
  // applies at high_water; resume at low_water.
  const BackpressureLimits& limits = options_->backpressure;
  const std::size_t pause_mark = limits.low_water < limits.high_water
                                     ? limits.low_water + (limits.high_water - limits.low_water) / 2
                                     : limits.high_water;
  const std::size_t pending = output_backlog();
  if (!paused_ && pending > pause_mark) {
    paused_ = true;
  } else if (paused_ && pending <= limits.low_water) {
    paused_ = false;
  }
}

void Driver::note_pending() noexcept { session_->outbox_.set_owner_pending(output_backlog()); }

void Driver::end(std::error_code why) {
  if (ended_) return;
  ended_ = true;
  end_error_ = why;
}

void Driver::release() noexcept {
  session_->mark_ended();
  if (options_->registry != nullptr) options_->registry->leave_all(session_.get());
}

}  // namespace ws
