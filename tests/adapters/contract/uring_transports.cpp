// The io_uring transport under the contract suite: a UringLoop on a thread
// of its own.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "transport_under_test.hpp"
#include "ws/uring/uring_client.hpp"
#include "ws/uring/uring_loop.hpp"
#include "ws/uring/uring_server.hpp"

namespace ws::contract {
namespace {

class UringServerUnderTest final : public ServerUnderTest {
 public:
  explicit UringServerUnderTest(uring::UringServer server) : server_(std::move(server)) {}
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
  uring::UringServer server_;
};

class UringTransport final : public TransportUnderTest {
 public:
  UringTransport() : thread_([this] { (void)loop_.run(); }) {}
  ~UringTransport() override {
    loop_.stop();
    thread_.join();
  }
  std::unique_ptr<ServerUnderTest> serve(const ServerOptions& options, Handler handler) override {
    uring::UringServerOptions uring_options;
    static_cast<ServerOptions&>(uring_options) = options;
    Result<uring::UringServer> server =
        uring::UringServer::listen(loop_, std::move(uring_options), std::move(handler));
    if (!server) return nullptr;
    return std::make_unique<UringServerUnderTest>(std::move(*server));
  }
  void connect(const std::string& url, const ClientOptions& options, Handler handler) override {
    uring::UringClient client(loop_, options);
    (void)client.connect(url, std::move(handler));
  }

 private:
  uring::UringLoop loop_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<TransportUnderTest> make_uring_transport() {
  return std::make_unique<UringTransport>();
}

}  // namespace ws::contract
