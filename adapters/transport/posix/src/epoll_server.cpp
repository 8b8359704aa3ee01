#include "ws/posix/epoll_server.hpp"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <unordered_set>
#include <utility>
#include <vector>

#include "epoll_connection.hpp"
#include "epoll_loop_core.hpp"

namespace ws::posix {

namespace detail {

namespace {
// accept4 calls per wake-up, so a connect storm does not starve the
// connections already served (level-triggered: the rest come next round).
constexpr int max_accepts_per_wake = 256;
// Out of descriptors: stop accepting for a moment instead of spinning on a
// listener that stays readable.
constexpr std::chrono::milliseconds accept_pause{100};
}  // namespace

class EpollServerCore final : public EpollWatcher, public EpollConnectionTracker {
 public:
  EpollServerCore(std::shared_ptr<EpollLoopCore> loop, FileDescriptor listener, Config config,
                  std::shared_ptr<const EpollEndpoint> endpoint)
      : loop_(std::move(loop)),
        listener_(std::move(listener)),
        config_(std::make_shared<const Config>(std::move(config))),
        endpoint_(std::move(endpoint)),
        port_(local_port(listener_.get())) {}

  std::uint16_t port() const noexcept { return port_; }
  std::size_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  const Config& config() const noexcept { return *config_; }
  const std::shared_ptr<EpollLoopCore>& loop() const noexcept { return loop_; }
  const std::shared_ptr<const EpollEndpoint>& endpoint() const noexcept { return endpoint_; }

  std::shared_ptr<EpollServerCore> self() {
    return std::static_pointer_cast<EpollServerCore>(shared_from_this());
  }

  // Any thread: one more connection exists (accepted or adopted).
  void counted() noexcept { count_.fetch_add(1, std::memory_order_relaxed); }

  // ---- Loop thread -----------------------------------------------------

  void start_listening() {
    if (!listener_ || listening_ || shutdown_started_) return;
    if (loop_->add(shared_from_this(), listener_.get(), EPOLLIN)) {
      listener_.reset();
      return;
    }
    listening_ = true;
  }

  void add(const std::shared_ptr<EpollConnection>& connection) {
    connections_.insert(connection.get());
    connection->start();
    if (shutdown_started_) connection->close_going_away();
  }

  void on_events(std::uint32_t) override {
    for (int i = 0; i < max_accepts_per_wake && listening_; ++i) {
      const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          pause_accepting();
        }
        return;  // EAGAIN: all taken
      }
      FileDescriptor socket(fd);
      // TLS (DriverOptions::stream_layer): a layer per connection. One that
      // cannot be made (out of memory) costs that connection only.
      Result<std::unique_ptr<StreamLayer>> layer =
          make_stream_layer(endpoint_->driver, Role::server, {});
      if (!layer) continue;
      set_nodelay(socket.get());
      if (endpoint_->driver.socket_driver) {
        // HTTP/2 and HTTP/1.1 (DriverOptions::socket_driver).
        Result<std::shared_ptr<EpollConnection>> served = EpollConnection::create_served(
            loop_, std::move(socket), config_, endpoint_, self(), std::move(*layer));
        if (!served) continue;
        counted();
        add(*served);
        continue;
      }
      counted();
      add(EpollConnection::create(loop_, std::move(socket), Connection::server(config_), endpoint_,
                                  self(), false, std::move(*layer)));
    }
  }

  void on_timer() override {
    const TimePoint now = loop_->now();
    if (accept_paused_until_ && *accept_paused_until_ <= now) {
      accept_paused_until_.reset();
      if (listening_) loop_->modify(*this, listener_.get(), EPOLLIN);
    }
    if (shutdown_deadline_ && *shutdown_deadline_ <= now) {
      shutdown_deadline_.reset();
      abort_all();
    }
    arm_timer();
  }

  void on_loop_destroyed() override {
    listening_ = false;
    listener_.reset();
  }

  void connection_ended(EpollConnection& connection) override {
    connections_.erase(&connection);
    count_.fetch_sub(1, std::memory_order_relaxed);
    if (shutdown_started_ && connections_.empty()) complete_shutdown();
  }

  void begin_shutdown(Duration timeout, std::function<void()> on_done) {
    if (shutdown_started_) return;
    shutdown_started_ = true;
    on_done_ = std::move(on_done);
    stop_listening();
    if (connections_.empty()) {
      complete_shutdown();
      return;
    }
    shutdown_deadline_ = Clock::now() + timeout;
    arm_timer();
    for (const std::shared_ptr<EpollConnection>& connection : live_connections()) {
      connection->close_going_away();
    }
  }

  void abort_all() {
    stop_listening();
    for (const std::shared_ptr<EpollConnection>& connection : live_connections()) {
      connection->abort(std::make_error_code(std::errc::operation_canceled));
    }
  }

 private:
  std::vector<std::shared_ptr<EpollConnection>> live_connections() {
    // Copies with owners: ending one connection changes the set.
    std::vector<std::shared_ptr<EpollConnection>> live;
    live.reserve(connections_.size());
    for (EpollConnection* connection : connections_) {
      live.push_back(std::static_pointer_cast<EpollConnection>(connection->shared_from_this()));
    }
    return live;
  }

  void stop_listening() {
    if (listening_) loop_->remove(*this, listener_.get());
    listening_ = false;
    listener_.reset();
    accept_paused_until_.reset();
  }

  void pause_accepting() {
    if (loop_->modify(*this, listener_.get(), 0)) return;
    accept_paused_until_ = loop_->now() + accept_pause;
    arm_timer();
  }

  void arm_timer() {
    std::optional<TimePoint> next = accept_paused_until_;
    if (shutdown_deadline_ && (!next || *shutdown_deadline_ < *next)) next = shutdown_deadline_;
    loop_->schedule(*this, next);
  }

  void complete_shutdown() {
    if (shutdown_done_) return;
    shutdown_done_ = true;
    if (!loop_->alive()) {
      on_done_ = nullptr;  // the loop is being destroyed: no callbacks
      return;
    }
    shutdown_deadline_.reset();
    arm_timer();
    if (std::function<void()> done = std::move(on_done_)) done();
  }

  std::shared_ptr<EpollLoopCore> loop_;
  FileDescriptor listener_;
  // Shared by every connection of the server (Connection::server).
  std::shared_ptr<const Config> config_;
  std::shared_ptr<const EpollEndpoint> endpoint_;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> count_{0};

  std::unordered_set<EpollConnection*> connections_;
  bool listening_ = false;
  std::optional<TimePoint> accept_paused_until_;
  bool shutdown_started_ = false;
  bool shutdown_done_ = false;
  std::optional<TimePoint> shutdown_deadline_;
  std::function<void()> on_done_;
};

}  // namespace detail

Result<EpollServer> EpollServer::listen(EpollLoop& loop, EpollServerOptions options,
                                        EpollHandler handler) {
  if (const std::error_code error = loop.core_->creation_error()) return error;
  Result<FileDescriptor> listener = listen_tcp(options.host, options.port, options.backlog);
  if (!listener) return listener.error();
  if (const std::error_code error = set_nonblocking(listener->get())) return error;

  if (!handler.on_upgrade) handler.on_upgrade = std::move(options.on_upgrade);
  if (!handler.on_http) handler.on_http = std::move(options.on_http);
  // With an HTTP handler, requests that are not upgrades reach it.
  if (handler.on_http) options.config.serve_plain_http = true;
  auto endpoint = std::make_shared<detail::EpollEndpoint>();
  endpoint->handler = std::make_shared<const Handler>(std::move(handler));
  endpoint->driver = options;

  auto core = std::make_shared<detail::EpollServerCore>(
      loop.core_, std::move(*listener), std::move(options.config), std::move(endpoint));
  loop.core_->post([core] { core->start_listening(); });
  return EpollServer(std::move(core));
}

EpollServer::EpollServer(std::shared_ptr<detail::EpollServerCore> core) noexcept
    : core_(std::move(core)) {}

EpollServer::EpollServer(EpollServer&&) noexcept = default;

EpollServer& EpollServer::operator=(EpollServer&& other) noexcept {
  if (this != &other) {
    EpollServer old(std::move(*this));
    core_ = std::move(other.core_);
  }
  return *this;
}

EpollServer::~EpollServer() {
  if (!core_) return;
  // Always posted, even on the loop thread: a callback that destroys the
  // server must not see its own connection vanish under it.
  const std::shared_ptr<detail::EpollServerCore> core = std::move(core_);
  core->loop()->post([core] { core->abort_all(); });
}

std::uint16_t EpollServer::port() const noexcept { return core_ ? core_->port() : 0; }

std::size_t EpollServer::connection_count() const noexcept { return core_ ? core_->count() : 0; }

Result<EpollSessionPtr> EpollServer::adopt(FileDescriptor&& socket, std::string_view request_head,
                                           ByteView bytes_after_head,
                                           const AcceptOptions& options) {
  if (!core_) return errc::not_open;  // moved from
  Result<Connection> connection =
      Connection::accept_upgrade(request_head, bytes_after_head, options, core_->config());
  if (!connection) return connection.error();
  if (const std::error_code error = set_nonblocking(socket.get())) return error;
  set_nodelay(socket.get());
  auto adopted =
      detail::EpollConnection::create(core_->loop(), std::move(socket), std::move(*connection),
                                      core_->endpoint(), core_->self(), false);
  core_->counted();
  EpollSessionPtr session = adopted->session();
  core_->loop()->post([core = core_, adopted] { core->add(adopted); });
  return session;
}

void EpollServer::shutdown(Duration timeout, std::function<void()> on_done) {
  if (!core_) return;
  core_->loop()->post([core = core_, timeout, done = std::move(on_done)]() mutable {
    core->begin_shutdown(timeout, std::move(done));
  });
}

}  // namespace ws::posix
