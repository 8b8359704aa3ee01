#include "ws/asio/client.hpp"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <utility>

#include "socket_runner.hpp"
#include "ws/connection.hpp"
#include "ws/handshake/client_handshake.hpp"

namespace ws::asio {

namespace {

// Hands SocketRunner::start the client Driver, made once with the runner's
// waker, and keeps its session for connect() to return.
class ClientDriverFactory final : public SocketDriverFactory {
 public:
  ClientDriverFactory(Connection& connection, SessionPtr& session)
      : connection_(connection), session_(session) {}

  Result<std::unique_ptr<SocketDriver>> make(SocketDriverContext context) const override {
    auto driver = std::make_unique<Driver>(std::move(connection_), std::move(context.handler),
                                           std::move(context.options), std::move(context.waker),
                                           std::move(context.layer));
    session_ = driver->session();
    std::unique_ptr<SocketDriver> made = std::move(driver);
    return made;
  }

 private:
  Connection& connection_;
  SessionPtr& session_;
};

}  // namespace

Result<SessionPtr> connect(const ::asio::any_io_executor& executor, std::string_view url,
                           Handler handler, ClientOptions options) {
  Result<WsUrl> parsed = parse_ws_url(url);
  if (!parsed) return parsed.error();
  Result<Connection> connection = Connection::client(url, options.handshake, options.config);
  if (!connection) return connection.error();
  Result<ClientPath> path = client_path(options, *parsed);
  if (!path) return path.error();

  auto shared_options = std::make_shared<const ClientOptions>(std::move(options));
  SocketDriverContext context{
      std::make_shared<const Config>(shared_options->config),
      std::make_shared<const Handler>(std::move(handler)),
      std::shared_ptr<const DriverOptions>(shared_options, shared_options.get()), nullptr,
      std::move(path->layer)};
  SessionPtr session;
  const ClientDriverFactory factory(*connection, session);
  // A strand of its own: the connection's callbacks never overlap, however
  // many threads run the executor's context.
  ::asio::ip::tcp::socket socket(::asio::make_strand(executor));
  Result<std::shared_ptr<detail::SocketRunner>> runner =
      detail::SocketRunner::start(std::move(socket), factory, std::move(context), nullptr);
  if (!runner) return runner.error();
  (*runner)->connect_then_begin(std::move(path->hop.host), path->hop.port);
  return session;
}

std::shared_ptr<ResilientClient> start_resilient(::asio::io_context& context, std::string url,
                                                 Handler handler, ResilienceEvents events,
                                                 ResilientOptions resilience,
                                                 ClientOptions options) {
  // The client's owner thread: one strand for its hooks, its waits and
  // (through strands made from it) every connection's callbacks.
  const ::asio::any_io_executor owner = ::asio::make_strand(context);
  ClientHandshakeOptions handshake = options.handshake;
  ResilientClient::Hooks hooks;
  hooks.connect = [owner, options = std::move(options)](const ConnectTarget& target,
                                                        Handler connection_handler) {
    ClientOptions these = options;
    these.handshake = target.handshake;
    const Result<SessionPtr> started =
        ws::asio::connect(owner, target.url, std::move(connection_handler), std::move(these));
    return started ? std::error_code{} : started.error();
  };
  // One timer serves every wait (they never overlap; a newer one cancels a
  // stale one, whose `then` is then not called).
  hooks.wait = [owner, timer = std::shared_ptr<::asio::steady_timer>()](
                   Duration delay, std::function<void()> then) mutable {
    if (!timer) timer = std::make_shared<::asio::steady_timer>(owner);
    timer->expires_after(delay);
    timer->async_wait([then = std::move(then)](std::error_code error) {
      if (!error) then();
    });
  };
  hooks.post = [owner](std::function<void()> task) { ::asio::post(owner, std::move(task)); };
  std::shared_ptr<ResilientClient> client =
      ResilientClient::make(std::move(url), std::move(handshake), std::move(handler),
                            std::move(events), std::move(resilience), std::move(hooks));
  ::asio::post(owner, [weak = std::weak_ptr<ResilientClient>(client)] {
    if (const auto self = weak.lock()) self->start();
  });
  return client;
}

}  // namespace ws::asio
