// The Asio transport under the contract suite: an io_context on a thread of
// its own; ws::asio::Server for the server, and for the client a TcpStream
// with async_handshake and a read loop that calls the Handler.
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "transport_under_test.hpp"
#include "ws/asio/server.hpp"
#include "ws/asio/stream.hpp"
#include "ws/handshake/client_handshake.hpp"

namespace ws::contract {
namespace {

// `info` must outlive the call the result is passed to (the reason is a view).
Closed closed_of(const asio::CloseInfo& info) {
  Closed closed;
  closed.code = info.code;
  closed.reason = info.reason;
  closed.error = info.error;
  closed.sent_code = info.sent_code;
  return closed;
}

asio::StreamOptions stream_options(const DriverOptions& driver, const Config& config) {
  asio::StreamOptions options;
  static_cast<DriverOptions&>(options) = driver;
  options.config = config;
  return options;
}

class AsioServerUnderTest final : public ServerUnderTest {
 public:
  AsioServerUnderTest(::asio::io_context& io, const ServerOptions& options, Handler handler) {
    asio::ServerOptions server_options;
    server_options.stream = stream_options(options, options.config);
    if (!handler.on_upgrade) {
      server_options.accept = [accept = options.accept](const UpgradeRequest&) {
        return UpgradeDecision::accept_with(accept);
      };
    }
    // The Server's own overload for the one Handler shape.
    server_ = std::make_unique<asio::Server>(io.get_executor(), std::move(server_options),
                                             std::move(handler));
    listen_error_ = server_->listen({::asio::ip::make_address("127.0.0.1"), 0});
  }
  ~AsioServerUnderTest() override {
    if (!shut_down_) shutdown(std::chrono::milliseconds(200));
  }
  bool listening() const { return !listen_error_; }
  std::uint16_t port() const override { return server_->local_endpoint().port(); }
  std::size_t connection_count() const override { return server_->connection_count(); }
  void shutdown(Duration timeout) override {
    shut_down_ = true;
    std::mutex mutex;
    std::condition_variable done_changed;
    bool done = false;
    server_->async_shutdown(timeout, [&](std::error_code) {
      std::lock_guard lock(mutex);
      done = true;
      done_changed.notify_all();
    });
    std::unique_lock lock(mutex);
    done_changed.wait_for(lock, timeout + std::chrono::seconds(5), [&] { return done; });
  }

 private:
  std::unique_ptr<asio::Server> server_;
  std::error_code listen_error_;
  bool shut_down_ = false;
};

// One client connection: connect, handshake, then read until the end.
class AsioClient : public std::enable_shared_from_this<AsioClient> {
 public:
  AsioClient(::asio::io_context& io, std::string url, const ClientOptions& options, Handler handler)
      : socket_(io), url_(std::move(url)), options_(options), handler_(std::move(handler)) {}

  void start() {
    const Result<WsUrl> parsed = parse_ws_url(url_);
    std::error_code error = parsed ? std::error_code{} : parsed.error();
    ::asio::ip::address address;
    if (!error) address = ::asio::ip::make_address(parsed->host, error);
    if (error) {
      fail(error);
      return;
    }
    socket_.async_connect({address, parsed->port},
                          [self = shared_from_this()](std::error_code connect_error) {
                            if (connect_error) {
                              self->fail(connect_error);
                            } else {
                              self->handshake();
                            }
                          });
  }

 private:
  void fail(std::error_code error) {
    if (!handler_.on_close) return;
    Closed closed;
    closed.error = error;
    handler_.on_close(nullptr, closed);
  }

  void handshake() {
    stream_.emplace(std::move(socket_), stream_options(options_, options_.config));
    stream_->async_handshake(url_, options_.handshake,
                             [self = shared_from_this()](std::error_code error) {
                               if (error) {
                                 self->end();
                                 return;
                               }
                               if (self->handler_.on_open) self->handler_.on_open(self->session_);
                               self->read();
                             });
    session_ = stream_->session();
  }

  void read() {
    stream_->async_read(
        buffer_, [self = shared_from_this()](std::error_code error, MessageKind kind) {
          if (error) {
            self->end();
            return;
          }
          if (self->handler_.on_message) {
            self->handler_.on_message(self->session_, Message{kind, as_bytes(self->buffer_)});
          }
          self->read();
        });
  }

  void end() {
    const asio::CloseInfo info = stream_->close_info();
    if (handler_.on_close) handler_.on_close(session_, closed_of(info));
    // Kept until the socket is closed, so the close handshake ends cleanly.
    stream_->async_close(CloseCode::normal, [self = shared_from_this()](std::error_code) {});
  }

  ::asio::ip::tcp::socket socket_;
  std::optional<asio::TcpStream> stream_;
  std::string url_;
  ClientOptions options_;
  Handler handler_;
  SessionPtr session_;
  std::string buffer_;
};

class AsioTransport final : public TransportUnderTest {
 public:
  AsioTransport() : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~AsioTransport() override {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  std::unique_ptr<ServerUnderTest> serve(const ServerOptions& options, Handler handler) override {
    auto server = std::make_unique<AsioServerUnderTest>(io_, options, std::move(handler));
    if (!server->listening()) return nullptr;
    return server;
  }
  void connect(const std::string& url, const ClientOptions& options, Handler handler) override {
    auto client = std::make_shared<AsioClient>(io_, url, options, std::move(handler));
    ::asio::post(io_, [client] { client->start(); });
  }

 private:
  ::asio::io_context io_;
  ::asio::executor_work_guard<::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<TransportUnderTest> make_asio_transport() {
  return std::make_unique<AsioTransport>();
}

}  // namespace ws::contract
