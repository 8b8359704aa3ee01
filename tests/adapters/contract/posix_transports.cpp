// The POSIX transports under the contract suite: an EpollLoop on a thread
// of its own, and the blocking transport with a thread per connection.

#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

#include "transport_under_test.hpp"
#include "ws/posix/blocking.hpp"
#include "ws/posix/epoll_client.hpp"
#include "ws/posix/epoll_loop.hpp"
#include "ws/posix/epoll_server.hpp"
#include "ws/posix/socket.hpp"
#include "ws/posix/thread_server.hpp"

namespace ws::contract {
namespace {

// ---- epoll ---------------------------------------------------------------

class EpollServerUnderTest final : public ServerUnderTest {
 public:
  explicit EpollServerUnderTest(posix::EpollServer server) : server_(std::move(server)) {}
  std::uint16_t port() const override { return server_.port(); }
  std::size_t connection_count() const override { return server_.connection_count(); }
  void shutdown(Duration timeout) override {
    std::mutex mutex;
    std::condition_variable done_changed;
    bool done = false;
    server_.shutdown(timeout, [&] {
      std::lock_guard lock(mutex);
      done = true;
      done_changed.notify_all();
    });
    std::unique_lock lock(mutex);
    done_changed.wait_for(lock, timeout + std::chrono::seconds(5), [&] { return done; });
  }

 private:
  posix::EpollServer server_;
};

class EpollTransport final : public TransportUnderTest {
 public:
  EpollTransport() : thread_([this] { (void)loop_.run(); }) {}
  ~EpollTransport() override {
    loop_.stop();
    thread_.join();
  }
  std::unique_ptr<ServerUnderTest> serve(const ServerOptions& options, Handler handler) override {
    posix::EpollServerOptions epoll_options;
    static_cast<ServerOptions&>(epoll_options) = options;
    Result<posix::EpollServer> server =
        posix::EpollServer::listen(loop_, std::move(epoll_options), std::move(handler));
    if (!server) return nullptr;
    return std::make_unique<EpollServerUnderTest>(std::move(*server));
  }
  void connect(const std::string& url, const ClientOptions& options, Handler handler) override {
    posix::EpollClient client(loop_, options);
    (void)client.connect(url, std::move(handler));
  }

 private:
  posix::EpollLoop loop_;
  std::thread thread_;
};

// ---- threads --------------------------------------------------------------

// The library's thread-per-connection server.
class ThreadsServerUnderTest final : public ServerUnderTest {
 public:
  explicit ThreadsServerUnderTest(posix::ThreadServer server) : server_(std::move(server)) {}
  std::uint16_t port() const override { return server_.port(); }
  std::size_t connection_count() const override { return server_.stats().live_threads; }
  void shutdown(Duration timeout) override { (void)server_.shutdown(timeout); }

 private:
  posix::ThreadServer server_;
};

class ThreadsTransport final : public TransportUnderTest {
 public:
  ~ThreadsTransport() override {
    for (std::thread& client : clients_) client.join();
  }
  std::unique_ptr<ServerUnderTest> serve(const ServerOptions& options, Handler handler) override {
    posix::ThreadServerOptions thread_options;
    static_cast<ServerOptions&>(thread_options) = options;
    thread_options.shutdown_timeout = std::chrono::milliseconds(500);
    Result<posix::ThreadServer> server =
        posix::ThreadServer::listen(std::move(thread_options), std::move(handler));
    if (!server) return nullptr;
    return std::make_unique<ThreadsServerUnderTest>(std::move(*server));
  }
  void connect(const std::string& url, const ClientOptions& options, Handler handler) override {
    clients_.emplace_back([url, options, handler = std::move(handler)]() mutable {
      posix::BlockingClientOptions blocking;
      static_cast<ClientOptions&>(blocking) = options;
      const std::error_code error = posix::connect(url, handler, blocking);
      if (error && handler.on_close) {
        // The blocking client reports a connection that never opened only
        // through its result.
        Closed closed;
        closed.error = error;
        if (error != std::errc::connection_refused) return;  // on_close came already if opened
        handler.on_close(nullptr, closed);
      }
    });
  }

 private:
  std::list<std::thread> clients_;
};

}  // namespace

std::unique_ptr<TransportUnderTest> make_epoll_transport() {
  return std::make_unique<EpollTransport>();
}

std::unique_ptr<TransportUnderTest> make_threads_transport() {
  return std::make_unique<ThreadsTransport>();
}

}  // namespace ws::contract
