#include "epoll_connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <type_traits>
#include <utility>
#include <variant>

namespace ws::posix::detail {

std::shared_ptr<EpollConnection> EpollConnection::create(
    std::shared_ptr<EpollLoopCore> loop, FileDescriptor socket, Connection connection,
    std::shared_ptr<const EpollEndpoint> endpoint, std::shared_ptr<EpollConnectionTracker> tracker,
    bool connecting) {
  auto result =
      std::make_shared<EpollConnection>(std::move(loop), std::move(socket), std::move(connection),
                                        std::move(endpoint), std::move(tracker), connecting);
  result->session_->owner_ = result->weak_from_this();
  return result;
}

EpollConnection::EpollConnection(std::shared_ptr<EpollLoopCore> loop, FileDescriptor socket,
                                 Connection connection,
                                 std::shared_ptr<const EpollEndpoint> endpoint,
                                 std::shared_ptr<EpollConnectionTracker> tracker, bool connecting)
    : loop_(std::move(loop)),
      socket_(std::move(socket)),
      connection_(std::move(connection)),
      endpoint_(std::move(endpoint)),
      tracker_(std::move(tracker)),
      session_(std::make_shared<EpollSession>(EpollSession::Key{}, connection_->role(),
                                              endpoint_->backpressure, loop_)),
      connecting_(connecting),
      report_close_(connection_->role() == Role::client) {}

EpollConnection::~EpollConnection() {
  // Never started (the loop went away with the task still queued): the
  // session must not look alive.
  if (!ended_) release();
}

void EpollConnection::start() {
  const std::uint32_t events = connecting_ ? EPOLLOUT : EPOLLIN;
  if (const std::error_code error = loop_->add(shared_from_this(), socket_.get(), events)) {
    finish(error);
    return;
  }
  interest_ = events;
  connection_->advance_time(Clock::now());
  if (connecting_) {
    loop_->schedule(*this, connection_->next_deadline());  // the handshake timeout covers connect
  } else {
    step();
  }
}

void EpollConnection::close_going_away() {
  if (ended_) return;
  if (connecting_ || connection_->state() == State::handshaking) {
    finish(std::make_error_code(std::errc::operation_canceled));
    return;
  }
  connection_->close(CloseCode::going_away);
  step();
}

void EpollConnection::abort(std::error_code why) { finish(why); }

void EpollConnection::on_events(std::uint32_t events) {
  if (ended_) return;
  if (connecting_) {
    finish_connect(events);
    return;
  }
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
    if (reading()) {
      read_some();
    } else if ((events & (EPOLLHUP | EPOLLERR)) != 0) {
      transport_dead_ = true;  // not reading, and the peer is gone both ways
    }
  }
  step();
}

void EpollConnection::on_timer() {
  if (ended_) return;
  connection_->advance_time(loop_->now());
  if (connecting_) {
    deliver_events();  // a handshake timeout ends it
    if (closed_seen_) {
      finish({});
    } else {
      loop_->schedule(*this, connection_->next_deadline());
    }
    return;
  }
  step();
}

void EpollConnection::on_wake() {
  if (ended_) return;
  if (connecting_) {
    // Only an abort or close can matter before the TCP connect completes
    // (queued messages wait for the handshake).
    session_->wake_pending_.exchange(false, std::memory_order_acq_rel);
    std::unique_lock lock(session_->mutex_);
    const bool stop = session_->abort_requested_ || session_->close_request_.has_value();
    lock.unlock();
    if (stop) finish(std::make_error_code(std::errc::operation_canceled));
    return;
  }
  step();
}

void EpollConnection::on_loop_destroyed() { release(); }

void EpollConnection::finish_connect(std::uint32_t events) {
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(socket_.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error == 0 && (events & EPOLLOUT) == 0) error = ECONNREFUSED;
  if (error != 0) {
    finish(std::error_code(error, std::system_category()));
    return;
  }
  connecting_ = false;
  set_nodelay(socket_.get());
  step();
}

void EpollConnection::read_some() {
  const MutableByteView space = connection_->receive_buffer();
  if (space.empty()) return;  // input full: step() drains it, and epoll reports us again
  const ssize_t got = ::read(socket_.get(), space.data(), space.size());
  if (got > 0) {
    connection_->commit_received(static_cast<std::size_t>(got));
    connection_->advance_time(loop_->now());
    read_drained_ = static_cast<std::size_t>(got) < space.size();
    last_read_ = loop_->now();
  } else if (got == 0) {
    eof_ = true;
    connection_->receive_eof();
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    eof_ = true;
    transport_dead_ = true;
    connection_->receive_eof();
  }
}

void EpollConnection::step() {
  if (ended_) return;
  deliver_events();
  if (ended_) return;
  take_requests();
  if (ended_) return;
  write_out();
  if (transport_dead_) {
    finish({});
    return;
  }
  // Output written may let a clean close complete (a server closes first).
  if (connection_->should_close_transport()) {
    finish({});
    return;
  }
  update_backpressure();
  if (ended_) return;
  update_interest();
  if (ended_) return;
  // An idle connection keeps no buffers: once the socket had no more to read,
  // everything went out and a second passed without input, the Connection
  // frees its empty buffers. Not at once: steady traffic would then allocate
  // them again for every message.
  std::optional<TimePoint> wake = connection_->next_deadline();
  if (read_drained_ && connection_->pending_output_size() == 0) {
    const TimePoint release_at = last_read_ + std::chrono::seconds(1);
    if (loop_->now() >= release_at) {
      connection_->release_idle_buffers();
      read_drained_ = false;
    } else if (!wake || release_at < *wake) {
      wake = release_at;
    }
  }
  loop_->schedule(*this, wake);
}

void EpollConnection::deliver_events() {
  while (!ended_ && connection_) {
    std::optional<Event> event = connection_->next_event();
    if (!event) break;
    handle(*event);
    // What the handler sent in answer goes into the Connection before the
    // next event is parsed: if that event is the peer's close, the close
    // reply must follow the answers (an echo server echoes a message that
    // came just before the close).
    if (!ended_ && connection_ && connection_->state() == State::open) send_queued();
  }
}

void EpollConnection::handle(const Event& event) {
  const EpollHandler& handler = endpoint_->handler;
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, UpgradeRequested>) {
          const UpgradeRequest& request = *e.request;
          EpollUpgradeDecision decision = endpoint_->on_upgrade
                                              ? endpoint_->on_upgrade(request)
                                              : EpollUpgradeDecision::accept_with();
          if (decision.accept) {
            session_->request_ = std::make_unique<const UpgradeRequest>(request);
            if (connection_->accept(decision.options)) {
              connection_->reject(500, "the server's accept options are invalid");
            } else {
              connection_->release_request();  // the session keeps its own copy
            }
          } else {
            connection_->reject(decision.status, decision.body, decision.headers);
          }
        } else if constexpr (std::is_same_v<T, HttpRequested>) {
          const HttpAnswer answer =
              endpoint_->on_http ? endpoint_->on_http(*e.head) : HttpAnswer{404, "not found\n", {}};
          if (connection_->reject(answer.status, answer.body, answer.headers)) {
            connection_->reject(500, "the server's HTTP answer is invalid\n");
          }
        } else if constexpr (std::is_same_v<T, Opened>) {
          session_->subprotocol_ = std::string(e.subprotocol);
          if (endpoint_->registry != nullptr && endpoint_->join_path_channel &&
              session_->request_) {
            endpoint_->registry->join(session_->request_->path, session_);
          }
          SessionState expected = SessionState::connecting;
          session_->state_.compare_exchange_strong(expected, SessionState::open,
                                                   std::memory_order_acq_rel);
          opened_ = true;
          report_close_ = true;
          if (handler.on_open) handler.on_open(session_);
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

void EpollConnection::report_closed(const Closed& closed) {
  if (closed_seen_) return;
  closed_seen_ = true;
  {
    std::lock_guard lock(session_->mutex_);
    session_->closing_ = true;
  }
  session_->queue_.close();
  session_->state_.store(SessionState::closed, std::memory_order_release);
  if (endpoint_->registry != nullptr) endpoint_->registry->leave_all(session_.get());
  if (report_close_ && endpoint_->handler.on_close) endpoint_->handler.on_close(session_, closed);
}

void EpollConnection::take_requests() {
  // An exchange, not a store: a sender whose exchange saw `true` (and so did
  // not wake us) is then ordered before everything read below.
  session_->wake_pending_.exchange(false, std::memory_order_acq_rel);
  std::optional<EpollSession::CloseRequest> close_request;
  bool abort_requested = false;
  {
    std::lock_guard lock(session_->mutex_);
    close_request = std::move(session_->close_request_);
    session_->close_request_.reset();
    abort_requested = session_->abort_requested_;
  }
  if (abort_requested) {
    finish(std::make_error_code(std::errc::operation_canceled));
    return;
  }
  if (connection_->state() == State::open) send_queued();
  if (session_->queue_.over_limit() && !policy_close_sent_) {
    if (connection_->state() == State::handshaking) {
      // A client queued past the limit before it even opened.
      finish(make_error_code(errc::output_queue_full));
      return;
    }
    // RFC 6455 7.4.1: 1013 asks the peer to try again later, 1008 says it
    // broke the policy (here: it reads too slowly).
    policy_close_sent_ = true;
    connection_->close(session_->queue_.close_code());
    // It hears nothing more: out of its channels now, not after the close
    // handshake with a peer that does not read.
    if (endpoint_->registry != nullptr) endpoint_->registry->leave_all(session_.get());
  }
  if (close_request) {
    if (connection_->state() == State::handshaking) {
      finish(std::make_error_code(std::errc::operation_canceled));
      return;
    }
    connection_->close(close_request->code, close_request->reason);
  }
}

void EpollConnection::send_queued() {
  std::vector<std::shared_ptr<const PreparedMessage>>& messages = loop_->message_scratch();
  session_->queue_.take_all(messages);
  const bool server = connection_->role() == Role::server;
  for (const std::shared_ptr<const PreparedMessage>& message : messages) {
    std::error_code error;
    if (server) {
      error = connection_->send_prepared(message);
    } else {
      // A client masks every frame with a fresh key: send the payload again.
      const ByteView frame = message->frame();
      const ByteView payload = frame.subspan(frame.size() - message->payload_size());
      error = message->kind() == MessageKind::text ? connection_->send_text(as_text(payload))
                                                   : connection_->send_binary(payload);
    }
    if (error == errc::output_queue_full) {
      // The Connection's own bound (Limits::max_queued_output) was reached
      // first, when it is set below high_water: apply the policy here.
      if (endpoint_->backpressure.policy != channels::SlowSubscriberPolicy::drop_messages &&
          !policy_close_sent_) {
        policy_close_sent_ = true;
        connection_->close(session_->queue_.close_code());
      }
    } else if (error) {
      break;  // not_open: the connection is closing, the rest is dropped
    }
  }
  messages.clear();
}

void EpollConnection::write_out() {
  const std::span<iovec> vectors = loop_->iovecs();
  while (connection_->pending_output_size() > 0) {
    const std::span<const OutputBuffer> output = connection_->pending_output();
    const std::size_t count = std::min(output.size(), vectors.size());
    std::size_t offered = 0;
    for (std::size_t i = 0; i < count; ++i) {
      vectors[i].iov_base = const_cast<std::byte*>(output[i].data);
      vectors[i].iov_len = output[i].size;
      offered += output[i].size;
    }
    msghdr message{};
    message.msg_iov = vectors.data();
    message.msg_iovlen = count;
    // sendmsg is writev with flags: MSG_NOSIGNAL turns SIGPIPE into EPIPE.
    const ssize_t written = ::sendmsg(socket_.get(), &message, MSG_NOSIGNAL);
    if (written >= 0) {
      connection_->consume_output(static_cast<std::size_t>(written));
      if (static_cast<std::size_t>(written) < offered) {
        want_write_ = true;  // the socket buffer is full
        return;
      }
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      want_write_ = true;
      return;
    } else if (errno != EINTR) {
      transport_dead_ = true;
      if (!eof_) {
        eof_ = true;
        connection_->receive_eof();
      }
      return;
    }
  }
  want_write_ = false;
}

void EpollConnection::update_backpressure() {
  const std::size_t pending = connection_->pending_output_size();
  session_->owner_pending_.store(pending, std::memory_order_relaxed);
  session_->queue_.set_owner_pending(pending);
  if (closed_seen_) return;  // nothing is reported after on_close
  // Pause halfway between the marks, so the application hears of the backlog
  // (and the peer is slowed) before the slow-subscriber policy applies at
  // high_water.
  const channels::BackpressureLimits& limits = endpoint_->backpressure;
  const std::size_t pause_mark = limits.low_water < limits.high_water
                                     ? limits.low_water + (limits.high_water - limits.low_water) / 2
                                     : limits.high_water;
  bool changed = false;
  if (!paused_ && pending > pause_mark) {
    paused_ = changed = true;
  } else if (paused_ && pending <= limits.low_water) {
    paused_ = false;
    changed = true;
  }
  if (changed && endpoint_->handler.on_backpressure) {
    endpoint_->handler.on_backpressure(session_, paused_);
  }
}

void EpollConnection::update_interest() {
  std::uint32_t wanted = 0;
  if (reading()) wanted |= EPOLLIN;
  if (want_write_) wanted |= EPOLLOUT;
  if (wanted == interest_) return;
  if (const std::error_code error = loop_->modify(*this, socket_.get(), wanted)) {
    finish(error);
    return;
  }
  interest_ = wanted;
}

void EpollConnection::finish(std::error_code why) {
  if (ended_) return;
  if (!closed_seen_) {
    if (!why && connection_) {
      // The transport ended: let the Connection say how (1006 unexpected EOF).
      if (!eof_) {
        eof_ = true;
        connection_->receive_eof();
      }
      deliver_events();
      if (ended_) return;
    }
    if (!closed_seen_) {
      Closed closed;
      closed.error = why ? why : make_error_code(errc::unexpected_eof);
      report_closed(closed);
      if (ended_) return;
    }
  }
  loop_->schedule(*this, std::nullopt);
  loop_->remove(*this, socket_.get());
  release();
}

void EpollConnection::release() {
  if (ended_) return;
  ended_ = true;
  socket_.reset();
  connection_.reset();
  {
    std::lock_guard lock(session_->mutex_);
    session_->closing_ = true;
  }
  session_->queue_.close();
  session_->owner_pending_.store(0, std::memory_order_relaxed);
  session_->state_.store(SessionState::closed, std::memory_order_release);
  if (!closed_seen_ && endpoint_->registry != nullptr) {
    endpoint_->registry->leave_all(session_.get());
  }
  if (tracker_) {
    const std::shared_ptr<EpollConnectionTracker> tracker = std::move(tracker_);
    tracker->connection_ended(*this);
  }
}

}  // namespace ws::posix::detail
