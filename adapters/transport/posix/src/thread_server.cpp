#include "ws/posix/thread_server.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <utility>

#include "ws/handshake/http_head_parser.hpp"
#include "ws/handshake/server_handshake.hpp"
#include "ws/posix/socket.hpp"

namespace ws::posix {

namespace {

// accept(2): on Linux these are network errors of the connection that was
// taken off the queue; the next one may be fine.
bool connection_error(int error) noexcept {
  return error == ECONNABORTED || error == EPROTO || error == ENETDOWN || error == ENOPROTOOPT ||
         error == EHOSTDOWN || error == ENONET || error == EHOSTUNREACH || error == EOPNOTSUPP ||
         error == ENETUNREACH || error == EPERM;
}

}  // namespace

namespace detail {

class ThreadServerCore : public std::enable_shared_from_this<ThreadServerCore> {
 public:
  ThreadServerOptions options;
  std::shared_ptr<BlockingHandler> handler;
  BlockingConnectionSet own_connections;
  FileDescriptor listener;
  FileDescriptor wake;  // eventfd: stop the accept loop
  std::uint16_t port = 0;
  std::string refusal;  // the 503
  std::thread acceptor;

  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> thread_failures{0};
  std::atomic<std::uint64_t> backoffs{0};
  std::atomic<std::uint64_t> handler_exceptions{0};
  // When memory was last handed back to the system (steady clock ticks).
  std::atomic<std::int64_t> last_trim{0};
  // A trim was skipped (too soon after the last): the accept thread does it
  // once the second has passed, so the last of a burst of ends is trimmed.
  std::atomic<bool> trim_pending{false};
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex;
  std::condition_variable changed;
  std::unordered_set<int> live_sockets;  // one per running connection thread
  bool shut_down = false;                // guarded by shutdown_mutex
  std::mutex shutdown_mutex;

  std::size_t live_threads() const {
    std::lock_guard lock(mutex);
    return live_sockets.size();
  }

  void accept_loop() noexcept;
  std::size_t shutdown(Duration timeout);

 private:
  void hand_over(FileDescriptor socket) noexcept;
  void refuse(FileDescriptor socket) noexcept;
  void run_connection(int fd) noexcept;
  void trim_memory() noexcept;
  void back_off() noexcept;
};

void ThreadServerCore::back_off() noexcept {
  backoffs.fetch_add(1, std::memory_order_relaxed);
  // Sleeps, but wakes at once for shutdown().
  pollfd stop{};
  stop.fd = wake.get();
  stop.events = POLLIN;
  const auto wait = std::max<std::int64_t>(options.accept_backoff.count(), 1);
  (void)::poll(&stop, 1, static_cast<int>(std::min<std::int64_t>(wait, INT_MAX)));
}

void ThreadServerCore::accept_loop() noexcept {
  while (!stopping.load()) {
    pollfd polled[2]{};
    polled[0].fd = listener.get();
    polled[0].events = POLLIN;
    polled[1].fd = wake.get();
    polled[1].events = POLLIN;
    const int ready = ::poll(polled, 2, trim_pending.load() ? 1000 : -1);
    if (ready < 0) {
      if (errno != EINTR) back_off();  // ENOMEM: let the system breathe
      continue;
    }
    if (ready == 0) {
      trim_memory();
      continue;
    }
    if ((polled[1].revents & POLLIN) != 0 || stopping.load()) break;
    // Take what is queued now (the listener is non-blocking), a bounded
    // number at a time so that a stop is seen soon.
    for (int taken = 0; taken < 64 && !stopping.load(); ++taken) {
      const int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        accepted.fetch_add(1, std::memory_order_relaxed);
        hand_over(FileDescriptor(fd));
        continue;
      }
      const int error = errno;
      if (error == EINTR || connection_error(error)) continue;
      if (error == EAGAIN || error == EWOULDBLOCK) break;
      // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): the
      // connection stays queued and poll would report it again at once.
      // Wait for some to be freed. Any other error (which should not happen
      // on a listening socket) likewise, rather than spin on it.
      back_off();
      break;
    }
  }
}

void ThreadServerCore::hand_over(FileDescriptor socket) noexcept {
  const int fd = socket.get();
  bool room = false;
  {
    std::lock_guard lock(mutex);
    room = options.max_threads == 0 || live_sockets.size() < options.max_threads;
    if (room) live_sockets.insert(fd);
  }
  if (!room) {
    refuse(std::move(socket));
    return;
  }
  try {
    // The thread gets the bare descriptor: should its creation fail, the
    // socket is still ours to answer.
    std::thread([self = shared_from_this(), fd] { self->run_connection(fd); }).detach();
    (void)socket.release();
    return;
  } catch (const std::system_error&) {
  } catch (const std::bad_alloc&) {
  }
  thread_failures.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex);
    live_sockets.erase(fd);
  }
  changed.notify_all();
  refuse(std::move(socket));
}

void ThreadServerCore::refuse(FileDescriptor socket) noexcept {
  refused.fetch_add(1, std::memory_order_relaxed);
  const int fd = socket.get();
  // A fresh socket's send buffer is empty: one non-blocking send takes the
  // whole (short) answer, and nothing here ever waits for the peer.
  while (::send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
         errno == EINTR) {
  }
  ::shutdown(fd, SHUT_WR);
  // Discard a request that already arrived, so that closing sends a FIN
  // after the answer rather than a reset that could overtake it.
  char sink[2048];
  for (int reads = 0; reads < 8; ++reads) {
    if (::recv(fd, sink, sizeof sink, MSG_DONTWAIT) <= 0) break;
  }
}  // closes the socket

void ThreadServerCore::run_connection(int fd) noexcept {
  try {
    (void)serve(fd, *handler, options);
  } catch (...) {
    // A handler threw: the adapter already ended the connection.
    handler_exceptions.fetch_add(1, std::memory_order_relaxed);
    ::shutdown(fd, SHUT_RDWR);
  }
  // What the TLS library keeps for this thread goes now, while the server
  // (and the process) is sure to be alive.
  if (options.stream_layer) options.stream_layer->thread_ending();
  {
    std::lock_guard lock(mutex);
    live_sockets.erase(fd);
  }
  changed.notify_all();
  // Closed after leaving the set: shutdown() touches only sockets in it.
  ::close(fd);
  trim_memory();
}

void ThreadServerCore::trim_memory() noexcept {
#ifdef __GLIBC__
  // What a connection held (its thread's arena pieces, a TLS layer's
  // buffers) stays in glibc's heap after it is freed; hand whole free pages
  // back, at most once a second across all connection threads (a burst of
  // ended handshakes would otherwise keep tens of MiB).
  const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  std::int64_t last = last_trim.load(std::memory_order_relaxed);
  const std::int64_t interval =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(1))
          .count();
  if (now - last < interval) {
    trim_pending.store(true);
    return;
  }
  if (!last_trim.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  trim_pending.store(false);
  ::malloc_trim(0);
#endif
}

std::size_t ThreadServerCore::shutdown(Duration timeout) {
  std::lock_guard once(shutdown_mutex);
  if (shut_down) return 0;
  shut_down = true;
  stopping.store(true);
  const std::uint64_t one = 1;
  while (::write(wake.get(), &one, sizeof one) < 0 && errno == EINTR) {
  }
  if (acceptor.joinable()) acceptor.join();
  listener.reset();  // new connections are refused by the kernel now
  const std::size_t aborted = options.connections->close_all(timeout);
  std::unique_lock lock(mutex);
  // What is left has not opened: a handshake or a plain HTTP request in
  // progress, or an aborted connection's handler still returning.
  for (const int fd : live_sockets) ::shutdown(fd, SHUT_RDWR);
  changed.wait_for(lock, timeout, [&] { return live_sockets.empty(); });
  return aborted + live_sockets.size();
}

namespace {

// ThreadServerOptions::on_http answers plain HTTP requests through the
// driver (Config::serve_plain_http): the application's handler with that
// one callback added.
class HttpAnsweringHandler final : public BlockingHandler {
 public:
  HttpAnsweringHandler(std::shared_ptr<BlockingHandler> inner,
                       std::function<HttpAnswer(const HttpHead&)> on_http)
      : inner_(std::move(inner)), on_http_(std::move(on_http)) {}
  UpgradeDecision on_upgrade(const UpgradeRequest& request,
                             const AcceptOptions& defaults) override {
    return inner_->on_upgrade(request, defaults);
  }
  void on_open(const BlockingSessionPtr& session) override { inner_->on_open(session); }
  void on_message(const BlockingSessionPtr& session, const Message& message) override {
    inner_->on_message(session, message);
  }
  void on_close(const BlockingSessionPtr& session, const Closed& closed) override {
    inner_->on_close(session, closed);
  }
  void on_ping(const BlockingSessionPtr& session, const Ping& ping) override {
    inner_->on_ping(session, ping);
  }
  void on_pong(const BlockingSessionPtr& session, const Pong& pong) override {
    inner_->on_pong(session, pong);
  }
  void on_rejected(const BlockingSessionPtr& session, const Rejected& rejected) override {
    inner_->on_rejected(session, rejected);
  }
  HttpAnswer on_http(const HttpHead& head) override { return on_http_(head); }

 private:
  std::shared_ptr<BlockingHandler> inner_;
  std::function<HttpAnswer(const HttpHead&)> on_http_;
};

}  // namespace

}  // namespace detail

Result<ThreadServer> ThreadServer::listen(ThreadServerOptions options, BlockingHandler& handler) {
  // Borrowed: an owner that owns nothing.
  return listen(std::move(options), std::shared_ptr<BlockingHandler>(&handler, [](auto*) {}));
}

Result<ThreadServer> ThreadServer::listen(ThreadServerOptions options, Handler handler) {
  return listen(std::move(options), std::make_shared<HandlerAdapter>(std::move(handler)));
}

Result<ThreadServer> ThreadServer::listen(ThreadServerOptions options,
                                          std::shared_ptr<BlockingHandler> handler) {
  if (!handler) return std::make_error_code(std::errc::invalid_argument);
  auto core = std::make_shared<detail::ThreadServerCore>();
  if (options.on_http) {
    options.config.serve_plain_http = true;
    handler = std::make_shared<detail::HttpAnsweringHandler>(std::move(handler), options.on_http);
  }
  core->options = std::move(options);
  core->handler = std::move(handler);
  if (core->options.connections == nullptr) core->options.connections = &core->own_connections;
  Result<FileDescriptor> listener =
      listen_tcp(core->options.host, core->options.port, core->options.backlog);
  if (!listener) return listener.error();
  core->listener = std::move(*listener);
  if (const std::error_code error = set_nonblocking(core->listener.get())) return error;
  core->port = local_port(core->listener.get());
  core->wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!core->wake) return last_system_error();
  // Over TLS (a stream layer) a plain 503 would reach the client as a
  // malformed record: past the bound, the connection is only closed, and
  // the client's TLS handshake ends at once instead of waiting.
  Result<std::string> refusal = build_rejection_response(503, "no thread for the connection\n");
  core->refusal = refusal && !core->options.stream_layer ? std::move(*refusal) : std::string();
  try {
    core->acceptor = std::thread([raw = core.get()] { raw->accept_loop(); });
  } catch (const std::system_error& error) {
    return error.code();
  }
  return ThreadServer(std::move(core));
}

ThreadServer::ThreadServer(std::shared_ptr<detail::ThreadServerCore> core) noexcept
    : core_(std::move(core)) {}

ThreadServer::ThreadServer(ThreadServer&& other) noexcept = default;

ThreadServer& ThreadServer::operator=(ThreadServer&& other) noexcept {
  if (this != &other) {
    if (core_) (void)core_->shutdown(core_->options.shutdown_timeout);
    core_ = std::move(other.core_);
  }
  return *this;
}

ThreadServer::~ThreadServer() {
  if (core_) (void)core_->shutdown(core_->options.shutdown_timeout);
}

std::uint16_t ThreadServer::port() const noexcept { return core_ ? core_->port : 0; }

ThreadServerStats ThreadServer::stats() const noexcept {
  ThreadServerStats stats;
  if (!core_) return stats;
  stats.accepted = core_->accepted.load();
  stats.live_threads = core_->live_threads();
  stats.refused_threads = core_->refused.load();
  stats.thread_failures = core_->thread_failures.load();
  stats.accept_backoffs = core_->backoffs.load();
  stats.handler_exceptions = core_->handler_exceptions.load();
  return stats;
}

std::size_t ThreadServer::shutdown(Duration timeout) {
  return core_ ? core_->shutdown(timeout) : 0;
}

}  // namespace ws::posix
