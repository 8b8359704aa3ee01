#include "ws/uring/uring_server.hpp"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <unordered_set>
#include <utility>
#include <vector>

#include "uring_connection.hpp"
#include "uring_loop_core.hpp"
#include "ws/posix/socket.hpp"

namespace ws::uring {

namespace detail {

namespace {
// Out of descriptors: stop accepting for a moment instead of spinning on a
// listener that stays ready.
constexpr std::chrono::milliseconds accept_pause{100};
}  // namespace

class UringServerCore final : public UringOwner, public UringConnectionTracker {
 public:
  UringServerCore(std::shared_ptr<UringLoopCore> loop, posix::FileDescriptor listener,
                  Config config, std::shared_ptr<const UringEndpoint> endpoint,
                  std::size_t max_connections)
      : loop_(std::move(loop)),
        listener_(std::move(listener)),
        config_(std::make_shared<const Config>(std::move(config))),
        endpoint_(std::move(endpoint)),
        max_connections_(max_connections),
        port_(posix::local_port(listener_.get())) {}

  std::uint16_t port() const noexcept { return port_; }
  std::size_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  const std::shared_ptr<UringLoopCore>& loop() const noexcept { return loop_; }

  std::shared_ptr<UringServerCore> self() {
    return std::static_pointer_cast<UringServerCore>(shared_from_this());
  }

  // ---- Loop thread -----------------------------------------------------

  void start_listening() {
    if (!listener_ || listening_ || shutdown_started_) return;
    loop_->attach(shared_from_this());
    attached_ = true;
    listening_ = true;
    arm_accept();
  }

  void on_completion(std::uint8_t op, const io_uring_cqe& cqe) override {
    if (op != op_accept) return;  // a cancel's own completion
    if ((cqe.flags & IORING_CQE_F_MORE) == 0) {
      accept_armed_ = false;
      accept_cancelling_ = false;
    }
    if (cqe.res >= 0) {
      posix::FileDescriptor socket(cqe.res);
      // Accepted while the accept was being stopped (shutdown, the limit):
      // closed again, the peer sees the end at once.
      if (listening_ && !at_limit()) accepted(std::move(socket));
    } else if (cqe.res == -EMFILE || cqe.res == -ENFILE || cqe.res == -ENOBUFS ||
               cqe.res == -ENOMEM) {
      pause_accepting();
    } else if (cqe.res == -EINVAL || cqe.res == -EBADF || cqe.res == -ENOTSOCK) {
      stop_listening();  // the listener cannot accept: retrying would spin
      return;
    }
    arm_accept();  // a multishot that ended (and nothing stops it) goes on
  }

  void on_timer() override {
    const TimePoint now = loop_->now();
    if (accept_paused_until_ && *accept_paused_until_ <= now) {
      accept_paused_until_.reset();
      arm_accept();
    }
    if (shutdown_deadline_ && *shutdown_deadline_ <= now) {
      shutdown_deadline_.reset();
      abort_all();
    }
    arm_timer();
  }

  void on_loop_destroyed() override {
    listening_ = false;
    attached_ = false;
    listener_.reset();
  }

  void connection_ended(UringConnection& connection) override {
    connections_.erase(&connection);
    count_.fetch_sub(1, std::memory_order_relaxed);
    arm_accept();  // below the limit again
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
    for (const std::shared_ptr<UringConnection>& connection : live_connections()) {
      connection->close_going_away();
    }
  }

  void abort_all() {
    stop_listening();
    for (const std::shared_ptr<UringConnection>& connection : live_connections()) {
      connection->abort(std::make_error_code(std::errc::operation_canceled));
    }
  }

 private:
  enum Op : std::uint8_t { op_accept = 1, op_cancel };

  bool at_limit() const noexcept {
    return max_connections_ > 0 && connections_.size() >= max_connections_;
  }

  void accepted(posix::FileDescriptor socket) {
    posix::set_nodelay(socket.get());
    Result<std::unique_ptr<StreamLayer>> layer =
        make_stream_layer(endpoint_->driver, Role::server, "");
    if (!layer) return;  // the layer cannot be made (TLS setup): the peer sees the end
    count_.fetch_add(1, std::memory_order_relaxed);
    auto connection = UringConnection::create(loop_, std::move(socket), Connection::server(config_),
                                              std::move(*layer), endpoint_, self(), nullptr);
    connections_.insert(connection.get());
    connection->start();
    if (at_limit()) cancel_accept();
  }

  std::vector<std::shared_ptr<UringConnection>> live_connections() {
    // Copies with owners: ending one connection changes the set.
    std::vector<std::shared_ptr<UringConnection>> live;
    live.reserve(connections_.size());
    for (UringConnection* connection : connections_) {
      live.push_back(std::static_pointer_cast<UringConnection>(connection->shared_from_this()));
    }
    return live;
  }

  void arm_accept() {
    if (!listening_ || accept_armed_ || accept_paused_until_ || at_limit()) return;
    io_uring_sqe* sqe = loop_->prepare(*this, op_accept);
    io_uring_prep_multishot_accept(sqe, listener_.get(), nullptr, nullptr,
                                   SOCK_NONBLOCK | SOCK_CLOEXEC);
    accept_armed_ = true;
  }

  void cancel_accept() {
    if (!accept_armed_ || accept_cancelling_) return;
    io_uring_sqe* sqe = loop_->prepare(*this, op_cancel);
    io_uring_prep_cancel64(sqe, loop_->user_data(*this, op_accept), 0);
    accept_cancelling_ = true;
  }

  void stop_listening() {
    if (attached_) {
      // The accept holds the listening socket open in the kernel until it
      // is cancelled; closing our descriptor alone would not stop it.
      cancel_accept();
      loop_->detach(*this);
      attached_ = false;
    }
    listening_ = false;
    listener_.reset();
    accept_paused_until_.reset();
  }

  void pause_accepting() {
    cancel_accept();
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

  std::shared_ptr<UringLoopCore> loop_;
  posix::FileDescriptor listener_;
  // Shared by every connection of the server (Connection::server).
  std::shared_ptr<const Config> config_;
  std::shared_ptr<const UringEndpoint> endpoint_;
  std::size_t max_connections_ = 0;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> count_{0};

  std::unordered_set<UringConnection*> connections_;
  bool attached_ = false;
  bool listening_ = false;
  bool accept_armed_ = false;
  bool accept_cancelling_ = false;
  std::optional<TimePoint> accept_paused_until_;
  bool shutdown_started_ = false;
  bool shutdown_done_ = false;
  std::optional<TimePoint> shutdown_deadline_;
  std::function<void()> on_done_;
};

}  // namespace detail

Result<UringServer> UringServer::listen(UringLoop& loop, UringServerOptions options,
                                        Handler handler) {
  if (const std::error_code error = loop.core_->creation_error()) return error;
  Result<posix::FileDescriptor> listener =
      posix::listen_tcp(options.host, options.port, options.backlog);
  if (!listener) return listener.error();
  if (const std::error_code error = posix::set_nonblocking(listener->get())) return error;

  if (!handler.on_upgrade) handler.on_upgrade = std::move(options.on_upgrade);
  if (!handler.on_http) handler.on_http = std::move(options.on_http);
  // With an HTTP handler, requests that are not upgrades reach it.
  if (handler.on_http) options.config.serve_plain_http = true;
  auto endpoint = std::make_shared<detail::UringEndpoint>();
  endpoint->handler = std::make_shared<const Handler>(std::move(handler));
  endpoint->driver = options;
  endpoint->zero_copy_send = options.zero_copy_send;

  auto core = std::make_shared<detail::UringServerCore>(
      loop.core_, std::move(*listener), std::move(options.config), std::move(endpoint),
      options.max_connections);
  loop.core_->post([core] { core->start_listening(); });
  return UringServer(std::move(core));
}

UringServer::UringServer(std::shared_ptr<detail::UringServerCore> core) noexcept
    : core_(std::move(core)) {}

UringServer::UringServer(UringServer&&) noexcept = default;

UringServer& UringServer::operator=(UringServer&& other) noexcept {
  if (this != &other) {
    UringServer old(std::move(*this));
    core_ = std::move(other.core_);
  }
  return *this;
}

UringServer::~UringServer() {
  if (!core_) return;
  // Always posted, even on the loop thread: a callback that destroys the
  // server must not see its own connection vanish under it.
  const std::shared_ptr<detail::UringServerCore> core = std::move(core_);
  core->loop()->post([core] { core->abort_all(); });
}

std::uint16_t UringServer::port() const noexcept { return core_ ? core_->port() : 0; }

std::size_t UringServer::connection_count() const noexcept { return core_ ? core_->count() : 0; }

void UringServer::shutdown(Duration timeout, std::function<void()> on_done) {
  if (!core_) return;
  core_->loop()->post([core = core_, timeout, done = std::move(on_done)]() mutable {
    core->begin_shutdown(timeout, std::move(done));
  });
}

}  // namespace ws::uring
