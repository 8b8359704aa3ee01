#include "ws/asio/server.hpp"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "socket_runner.hpp"
#include "ws/asio/stream.hpp"
#include "ws/asio/tls.hpp"

namespace ws::asio {

namespace {
// After a failed accept (out of descriptors, say) wait before the next.
constexpr std::chrono::milliseconds accept_retry_delay{100};
}  // namespace

struct Server::State : std::enable_shared_from_this<State> {
  State(const ::asio::any_io_executor& executor_in, ServerOptions options_in,
        ServerHandlers handlers_in, std::shared_ptr<const Handler> socket_handler_in)
      : executor(executor_in),
        options(std::move(options_in)),
        handlers(std::move(handlers_in)),
        socket_handler(std::move(socket_handler_in)),
        socket_options(std::make_shared<const DriverOptions>(options.stream)),
        socket_config(std::make_shared<const Config>(socket_config_of(options, *socket_handler))),
        acceptor(executor_in),
        accept_retry(executor_in),
        shutdown_timer(executor_in) {}

  static Config socket_config_of(const ServerOptions& options, const Handler& handler) {
    Config config = options.stream.config;
    if (handler.on_http) config.serve_plain_http = true;
    return config;
  }

  // A connection and its read buffer, kept alive by its pending operation.
  template <class NextLayer>
  struct Link {
    Stream<NextLayer> stream;
    std::string buffer;
    std::shared_ptr<Session> session;
  };

  void accept_next();
  void serve_socket(::asio::ip::tcp::socket socket);
  void remove_runner(detail::SocketRunner* runner);
  template <class NextLayer>
  void serve(Stream<NextLayer> stream);
  template <class NextLayer>
  void read_loop(const std::shared_ptr<Link<NextLayer>>& link);
  template <class NextLayer>
  void end(const std::shared_ptr<Link<NextLayer>>& link, bool opened);
  bool add(const std::shared_ptr<Session>& session);
  void remove(const Session* session);
  std::vector<std::shared_ptr<Session>> sessions() const;
  std::vector<std::shared_ptr<detail::SocketRunner>> socket_runners() const;
  void finish_shutdown_if_done();

  // Used on `executor` only.
  ::asio::any_io_executor executor;
  const ServerOptions options;
  const ServerHandlers handlers;
  // For sockets served by options.stream.socket_driver (HTTP/2): the
  // handlers in the shape every transport takes, and what the drivers share.
  const std::shared_ptr<const Handler> socket_handler;
  const std::shared_ptr<const DriverOptions> socket_options;
  const std::shared_ptr<const Config> socket_config;
  ::asio::ip::tcp::acceptor acceptor;
  ::asio::steady_timer accept_retry;
  ::asio::steady_timer shutdown_timer;

  // Shared with the connections' strands.
  mutable std::mutex mutex;
  std::unordered_map<const Session*, std::shared_ptr<Session>> live;
  std::unordered_map<detail::SocketRunner*, std::shared_ptr<detail::SocketRunner>> runners;
  bool stopping = false;
  bool timed_out = false;
  detail::CompletionPtr shutdown_done;
};

void Server::State::accept_next() {
  acceptor.async_accept(
      ::asio::make_strand(executor),
      [self = shared_from_this()](std::error_code error, ::asio::ip::tcp::socket socket) {
        if (!self->acceptor.is_open()) return;
        if (error) {
          self->accept_retry.expires_after(accept_retry_delay);
          self->accept_retry.async_wait([self](std::error_code wait_error) {
            if (!wait_error && self->acceptor.is_open()) self->accept_next();
          });
          return;
        }
        std::error_code ignored;
        socket.set_option(::asio::ip::tcp::no_delay(true), ignored);
        if (self->options.stream.socket_driver) {
          self->serve_socket(std::move(socket));
        } else if (self->options.tls != nullptr) {
          self->serve(TlsStream(TlsStream::next_layer_type(std::move(socket), *self->options.tls),
                                self->options.stream));
        } else {
          self->serve(TcpStream(std::move(socket), self->options.stream));
        }
        self->accept_next();
      });
}

void Server::State::serve_socket(::asio::ip::tcp::socket socket) {
  // TLS here is ws::tls (options.stream.stream_layer) inside the socket
  // driver, which needs the ALPN result; asio::ssl has no place in it.
  Result<std::unique_ptr<StreamLayer>> layer = make_stream_layer(options.stream, Role::server, {});
  if (!layer) return;  // out of memory: this connection only
  SocketDriverContext context{socket_config, socket_handler, socket_options, nullptr,
                              std::move(*layer)};
  Result<std::shared_ptr<detail::SocketRunner>> runner = detail::SocketRunner::start(
      std::move(socket), *options.stream.socket_driver, std::move(context),
      [self = shared_from_this()](detail::SocketRunner* ended) { self->remove_runner(ended); });
  if (!runner) return;
  {
    std::lock_guard lock(mutex);
    if (stopping) return;  // its socket closes as the runner goes
    runners.emplace(runner->get(), *runner);
  }
  (*runner)->begin();
}

void Server::State::remove_runner(detail::SocketRunner* runner) {
  {
    std::lock_guard lock(mutex);
    runners.erase(runner);
  }
  finish_shutdown_if_done();
}

template <class NextLayer>
void Server::State::serve(Stream<NextLayer> stream) {
  auto link = std::make_shared<Link<NextLayer>>(Link<NextLayer>{std::move(stream), {}, nullptr});
  link->stream.async_accept(options.accept, options.http,
                            [self = shared_from_this(), link](std::error_code error) {
                              if (error) {
                                self->end(link, false);
                                return;
                              }
                              if (self->handlers.on_open)
                                self->handlers.on_open(link->session, *link->stream.request());
                              self->read_loop(link);
                            });
  // The session exists once the accept started (its completion runs later,
  // on the connection's strand).
  link->session = link->stream.session();
  if (!add(link->session)) link->session->abort();  // shutting down: the accept fails
}

template <class NextLayer>
void Server::State::read_loop(const std::shared_ptr<Link<NextLayer>>& link) {
  link->stream.async_read(
      link->buffer, [self = shared_from_this(), link](std::error_code error, MessageKind kind) {
        if (error) {
          self->end(link, true);
          return;
        }
        if (self->handlers.on_message) {
          self->handlers.on_message(link->session, kind, link->buffer);
        } else if (kind == MessageKind::text) {
          (void)link->session->send_text(link->buffer);  // refused: the policy closes it
        } else {
          (void)link->session->send_binary(as_bytes(link->buffer));
        }
        self->read_loop(link);
      });
}

template <class NextLayer>
void Server::State::end(const std::shared_ptr<Link<NextLayer>>& link, bool opened) {
  if (opened && handlers.on_close) handlers.on_close(link->session, link->stream.close_info());
  // Keep the stream until its socket is closed, so the last frames and the
  // TCP or TLS goodbye go out before the connection counts as gone.
  link->stream.async_close(CloseCode::normal, [self = shared_from_this(), link](std::error_code) {
    self->remove(link->session.get());
  });
}

bool Server::State::add(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(mutex);
  if (stopping) return false;
  live.emplace(session.get(), session);
  return true;
}

void Server::State::remove(const Session* session) {
  {
    std::lock_guard lock(mutex);
    live.erase(session);
  }
  finish_shutdown_if_done();
}

std::vector<std::shared_ptr<Session>> Server::State::sessions() const {
  std::lock_guard lock(mutex);
  std::vector<std::shared_ptr<Session>> all;
  all.reserve(live.size());
  for (const auto& [key, session] : live) all.push_back(session);
  return all;
}

std::vector<std::shared_ptr<detail::SocketRunner>> Server::State::socket_runners() const {
  std::lock_guard lock(mutex);
  std::vector<std::shared_ptr<detail::SocketRunner>> all;
  all.reserve(runners.size());
  for (const auto& [key, runner] : runners) all.push_back(runner);
  return all;
}

void Server::State::finish_shutdown_if_done() {
  detail::CompletionPtr done;
  std::error_code result;
  {
    std::lock_guard lock(mutex);
    if (!stopping || !live.empty() || !runners.empty() || !shutdown_done) return;
    done = std::move(shutdown_done);
    if (timed_out) result = std::make_error_code(std::errc::timed_out);
  }
  ::asio::post(executor, [self = shared_from_this()] { self->shutdown_timer.cancel(); });
  done->invoke(result, MessageKind::binary);
}

namespace {

// The ServerHandlers shape turned into the Handler every transport takes,
// for sockets served by a socket driver (HTTP/2).
Handler handler_of(const ServerOptions& options, const ServerHandlers& handlers) {
  Handler handler;
  handler.on_upgrade = options.accept;
  handler.on_http = options.http;
  if (handlers.on_open) {
    handler.on_open = [on_open = handlers.on_open](const SessionPtr& session) {
      const UpgradeRequest* request = session->request();
      on_open(session, request != nullptr ? *request : UpgradeRequest{});
    };
  }
  handler.on_message = [on_message = handlers.on_message](const SessionPtr& session,
                                                          const Message& message) {
    if (!on_message) {
      (void)(message.kind == MessageKind::text ? session->send_text(message.text())
                                               : session->send_binary(message.payload));
      return;
    }
    std::string payload(reinterpret_cast<const char*>(message.payload.data()),
                        message.payload.size());
    on_message(session, message.kind, payload);
  };
  if (handlers.on_close) {
    handler.on_close = [on_close = handlers.on_close](const SessionPtr& session,
                                                      const Closed& closed) {
      on_close(session,
               CloseInfo{closed.code, std::string(closed.reason), closed.error, closed.sent_code});
    };
  }
  return handler;
}

}  // namespace

Server::Server(::asio::any_io_executor executor, ServerOptions options, ServerHandlers handlers)
    : state_(std::make_shared<State>(
          executor, options, handlers,
          std::make_shared<const Handler>(handler_of(options, handlers)))) {}

namespace {

ServerHandlers handlers_of(const Handler& handler) {
  ServerHandlers handlers;
  if (handler.on_open) {
    handlers.on_open = [on_open = handler.on_open](const std::shared_ptr<Session>& session,
                                                   const UpgradeRequest&) { on_open(session); };
  }
  if (handler.on_message) {
    handlers.on_message = [on_message = handler.on_message](const std::shared_ptr<Session>& session,
                                                            MessageKind kind,
                                                            std::string& payload) {
      on_message(session, Message{kind, as_bytes(payload), true, true});
    };
  }
  if (handler.on_close) {
    handlers.on_close = [on_close = handler.on_close](const std::shared_ptr<Session>& session,
                                                      const CloseInfo& info) {
      Closed closed;
      closed.code = info.code;
      closed.reason = info.reason;
      closed.error = info.error;
      closed.sent_code = info.sent_code;
      on_close(session, closed);
    };
  }
  return handlers;
}

ServerOptions with_answers(ServerOptions options, const Handler& handler) {
  if (handler.on_upgrade) options.accept = handler.on_upgrade;
  if (handler.on_http) options.http = handler.on_http;
  return options;
}

}  // namespace

Server::Server(::asio::any_io_executor executor, ServerOptions options, Handler handler) {
  // An empty on_message echoes, as on this Server's own connections.
  if (!handler.on_message) {
    handler.on_message = [](const SessionPtr& session, const Message& message) {
      (void)(message.kind == MessageKind::text ? session->send_text(message.text())
                                               : session->send_binary(message.payload));
    };
  }
  ServerOptions answered = with_answers(std::move(options), handler);
  ServerHandlers handlers = handlers_of(handler);
  state_ = std::make_shared<State>(std::move(executor), std::move(answered), std::move(handlers),
                                   std::make_shared<const Handler>(std::move(handler)));
}

Server::~Server() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  for (const std::shared_ptr<Session>& session : state_->sessions()) session->abort();
  for (const std::shared_ptr<detail::SocketRunner>& runner : state_->socket_runners()) {
    runner->abort(std::make_error_code(std::errc::operation_canceled));
  }
  ::asio::post(state_->executor, [state = state_] {
    std::error_code ignored;
    state->acceptor.close(ignored);
    state->accept_retry.cancel();
  });
}

std::error_code Server::listen(const ::asio::ip::tcp::endpoint& endpoint) {
  ::asio::ip::tcp::acceptor& acceptor = state_->acceptor;
  std::error_code error;
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(::asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(state_->options.backlog, error);
  if (error) {
    std::error_code ignored;
    acceptor.close(ignored);
    return error;
  }
  state_->accept_next();
  return {};
}

::asio::ip::tcp::endpoint Server::local_endpoint() const {
  std::error_code ignored;
  return state_->acceptor.local_endpoint(ignored);
}

std::size_t Server::connection_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->live.size() + state_->runners.size();
}

const ::asio::any_io_executor& Server::executor_of(const State& state) { return state.executor; }

void Server::start_shutdown(const std::shared_ptr<State>& state, Duration timeout,
                            detail::CompletionPtr done) {
  ::asio::post(state->executor, [state, timeout, done = std::move(done)]() mutable {
    {
      std::unique_lock lock(state->mutex);
      if (state->shutdown_done) {
        lock.unlock();
        done->invoke(std::make_error_code(std::errc::operation_in_progress), MessageKind::binary);
        return;
      }
      state->stopping = true;
      state->shutdown_done = std::move(done);
    }
    std::error_code ignored;
    state->acceptor.close(ignored);
    state->accept_retry.cancel();
    // RFC 6455 7.4.1: 1001, the endpoint is going away.
    for (const std::shared_ptr<Session>& session : state->sessions()) {
      (void)session->close(CloseCode::going_away, "server shutting down");
    }
    for (const std::shared_ptr<detail::SocketRunner>& runner : state->socket_runners()) {
      runner->close_going_away();  // HTTP/2: GOAWAY, then 1001 on every WebSocket
    }
    state->shutdown_timer.expires_after(timeout);
    state->shutdown_timer.async_wait([state](std::error_code error) {
      if (error) return;
      {
        std::lock_guard lock(state->mutex);
        state->timed_out = true;
      }
      for (const std::shared_ptr<Session>& session : state->sessions()) session->abort();
      for (const std::shared_ptr<detail::SocketRunner>& runner : state->socket_runners()) {
        runner->abort(std::make_error_code(std::errc::operation_canceled));
      }
    });
    state->finish_shutdown_if_done();
  });
}

}  // namespace ws::asio
