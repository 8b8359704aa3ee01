// Test doubles for the blocking POSIX adapter tests: a loopback listener, a
// server thread that runs serve() or serve_upgraded() on one accepted socket,
// a handler that records what it sees, and a raw client that speaks frames
// through the test frame builders and reads with a client Connection.
// Every wait is bounded by a deadline.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/frames.hpp"
#include "support/handshake_text.hpp"
#include "ws/driver/stream_layer.hpp"
#include "ws/posix/blocking.hpp"
#include "ws/posix/socket.hpp"

namespace ws::posix::test {

using namespace std::chrono_literals;
using ws::test::Bytes;
using ws::test::OwnedEvent;

/// Upper bound for anything these tests wait for; a correct run takes far less.
inline constexpr std::chrono::milliseconds kWait = 20s;

inline Bytes pattern_bytes(std::size_t size, unsigned seed = 7) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) {
    out[i] = static_cast<std::byte>((i * 31U + seed) % 251U);
  }
  return out;
}

/// Milliseconds left until `deadline`, for poll().
inline int ms_until(std::chrono::steady_clock::time_point deadline) {
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

/// A listening socket on 127.0.0.1 with a port chosen by the kernel.
struct Listener {
  FileDescriptor fd;
  std::uint16_t port = 0;

  Listener() {
    Result<FileDescriptor> listening = listen_tcp("127.0.0.1", 0, 64);
    EXPECT_TRUE(listening.has_value()) << listening.error().message();
    if (listening) fd = std::move(*listening);
    port = local_port(fd.get());
  }

  /// Accepts one connection, waiting at most kWait.
  FileDescriptor accept_one() const {
    pollfd readable{};
    readable.fd = fd.get();
    readable.events = POLLIN;
    if (::poll(&readable, 1, static_cast<int>(kWait.count())) != 1) return {};
    Result<FileDescriptor> accepted = accept_tcp(fd.get());
    return accepted ? std::move(*accepted) : FileDescriptor{};
  }

  std::string url(std::string_view path = "/chat") const {
    return "ws://127.0.0.1:" + std::to_string(port) + std::string(path);
  }
};

/// A BlockingHandler that records events (copied) and can echo messages.
/// Thread-safe: the test thread waits on what the connection thread records.
class Recorder : public BlockingHandler {
 public:
  bool echo = false;
  std::function<UpgradeDecision(const UpgradeRequest&, const AcceptOptions&)> decide;
  std::function<void(const BlockingSessionPtr&)> opened_hook;
  std::function<void(const BlockingSessionPtr&, const Message&)> message_hook;

  UpgradeDecision on_upgrade(const UpgradeRequest& request,
                             const AcceptOptions& defaults) override {
    return decide ? decide(request, defaults) : UpgradeDecision::accept_with(defaults);
  }
  void on_open(const BlockingSessionPtr& session) override {
    // The hook first, so that a test that saw the session knows it ran.
    if (opened_hook) opened_hook(session);
    record(session, ws::test::own(Event{Opened{}}));
  }
  void on_message(const BlockingSessionPtr& session, const Message& message) override {
    record(session, ws::test::own(Event{message}));
    if (echo) {
      const std::error_code error = message.kind == MessageKind::text
                                        ? session->send_text(message.text())
                                        : session->send_binary(message.payload);
      EXPECT_FALSE(error) << error.message();
    }
    if (message_hook) message_hook(session, message);
  }
  void on_close(const BlockingSessionPtr& session, const Closed& closed) override {
    record(session, ws::test::own(Event{closed}));
  }
  void on_ping(const BlockingSessionPtr& session, const Ping& ping) override {
    record(session, ws::test::own(Event{ping}));
  }
  void on_pong(const BlockingSessionPtr& session, const Pong& pong) override {
    record(session, ws::test::own(Event{pong}));
  }

  /// Waits until `done(events)` holds; false after kWait.
  bool wait_until(const std::function<bool(const std::vector<OwnedEvent>&)>& done) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWait, [&] { return done(events_); });
  }
  bool wait_for_close() {
    return wait_until([](const auto& events) {
      return !events.empty() && events.back().type == OwnedEvent::Type::closed;
    });
  }
  bool wait_for_messages(std::size_t count) {
    return wait_until([count](const auto& events) { return count_of(events) >= count; });
  }
  BlockingSessionPtr wait_for_session() {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, kWait, [&] { return session_ != nullptr; });
    return session_;
  }

  std::vector<OwnedEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<OwnedEvent> messages() const {
    std::vector<OwnedEvent> out;
    for (const OwnedEvent& event : events()) {
      if (event.type == OwnedEvent::Type::message) out.push_back(event);
    }
    return out;
  }
  std::optional<OwnedEvent> closed() const {
    for (const OwnedEvent& event : events()) {
      if (event.type == OwnedEvent::Type::closed) return event;
    }
    return std::nullopt;
  }
  BlockingSessionPtr session() const {
    std::lock_guard lock(mutex_);
    return session_;
  }

 private:
  static std::size_t count_of(const std::vector<OwnedEvent>& events) {
    std::size_t count = 0;
    for (const OwnedEvent& event : events) count += event.type == OwnedEvent::Type::message;
    return count;
  }
  void record(const BlockingSessionPtr& session, OwnedEvent event) {
    {
      std::lock_guard lock(mutex_);
      if (!session_) session_ = session;
      events_.push_back(std::move(event));
    }
    changed_.notify_all();
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<OwnedEvent> events_;
  BlockingSessionPtr session_;
};

/// How the server thread hands its socket to the adapter.
enum class Entry { serve, serve_upgraded };

/// Accepts one connection on `listener` and runs the adapter on it, on a
/// thread of its own, as an application's request thread would.
class ServerThread {
 public:
  ServerThread(const Listener& listener, BlockingHandler& handler, BlockingOptions options = {},
               Entry entry = Entry::serve)
      : options_(std::move(options)) {
    std::packaged_task<std::error_code()> task([this, &listener, &handler, entry] {
      FileDescriptor fd = listener.accept_one();
      if (!fd) return std::make_error_code(std::errc::timed_out);
      if (entry == Entry::serve) return serve(fd.get(), handler, options_);
      // The application's HTTP server: read until the end of the head; what
      // came with it belongs to the WebSocket.
      std::string received;
      std::size_t head_end = std::string::npos;
      while (head_end == std::string::npos) {
        char chunk[4096];
        const ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
        if (n <= 0) return std::make_error_code(std::errc::connection_aborted);
        received.append(chunk, static_cast<std::size_t>(n));
        head_end = received.find("\r\n\r\n");
      }
      head_end += 4;
      const std::string_view all(received);
      bytes_after_head_ = received.size() - head_end;
      return serve_upgraded(fd.get(), all.substr(0, head_end), as_bytes(all.substr(head_end)),
                            handler, options_);
    });
    result_ = task.get_future();
    thread_ = std::thread(std::move(task));
  }
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;
  ~ServerThread() {
    if (thread_.joinable()) thread_.join();
  }

  /// What the adapter returned; fails the test (and returns timed_out) when
  /// the thread did not return within kWait.
  std::error_code result() {
    if (result_.wait_for(kWait) != std::future_status::ready) {
      ADD_FAILURE() << "the connection thread did not return";
      return std::make_error_code(std::errc::timed_out);
    }
    return result_.get();
  }
  bool finished_within(std::chrono::milliseconds wait) {
    return result_.wait_for(wait) == std::future_status::ready;
  }
  /// Bytes the HTTP side read past the head (serve_upgraded only).
  std::size_t bytes_after_head() const { return bytes_after_head_; }

 private:
  BlockingOptions options_;
  std::future<std::error_code> result_;
  std::thread thread_;
  std::size_t bytes_after_head_ = 0;
};

/// A client that writes raw bytes and reads frames through a client
/// Connection (auto_pong off, so the test sees exactly what came). With a
/// stream layer (`tls`), the raw bytes are those inside it: the TLS
/// variants of the transports are attacked with the same bytes.
class RawClient {
 public:
  /// Connects to 127.0.0.1:`port`. A non-zero `socket_buffer_bytes` shrinks
  /// the kernel's send and receive buffers first (before the connect, so
  /// that the window is negotiated small), so that a peer that does not read
  /// fills them quickly.
  explicit RawClient(std::uint16_t port, int socket_buffer_bytes = 0,
                     const std::shared_ptr<const StreamLayerFactory>& tls = nullptr) {
    if (tls) {
      Result<std::unique_ptr<StreamLayer>> layer = tls->make(Role::client, "127.0.0.1");
      EXPECT_TRUE(layer.has_value());
      if (layer) layer_ = std::move(*layer);
    }
    if (socket_buffer_bytes == 0) {
      Result<FileDescriptor> connected = connect_tcp("127.0.0.1", port);
      EXPECT_TRUE(connected.has_value()) << connected.error().message();
      if (connected) fd_ = std::move(*connected);
      return;
    }
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &socket_buffer_bytes,
                 sizeof socket_buffer_bytes);
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUF, &socket_buffer_bytes,
                 sizeof socket_buffer_bytes);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  }

  int fd() const { return fd_.get(); }

  void send(ByteView bytes) {
    if (layer_) {
      send_through_layer(bytes);
      return;
    }
    const std::error_code error = write_all(fd_.get(), bytes.data(), bytes.size());
    EXPECT_FALSE(error) << error.message();
  }
  /// TLS only: puts `bytes` through the layer but writes only the first
  /// `wire_bytes` of what it made (a record cut in the middle).
  void send_cut_record(ByteView bytes, std::size_t wire_bytes) {
    ASSERT_TRUE(layer_);
    const OutputBuffer piece{bytes.data(), bytes.size()};
    ASSERT_EQ(layer_->write(std::span<const OutputBuffer>(&piece, 1)), bytes.size());
    const std::span<const OutputBuffer> wire = layer_->pending_wire();
    ASSERT_FALSE(wire.empty());
    ASSERT_LT(wire_bytes, wire[0].size);
    const std::error_code error = write_all(fd_.get(), wire[0].data, wire_bytes);
    EXPECT_FALSE(error) << error.message();
  }
  /// Sends what the socket takes now (at most a few milliseconds of
  /// waiting); returns how many of `bytes` went (or into the layer). A
  /// flooding peer uses it so that it can stop.
  std::size_t send_some(ByteView bytes) {
    if (layer_) {
      std::size_t taken = 0;
      if (flush_layer(std::chrono::steady_clock::now() + std::chrono::milliseconds(5))) {
        const OutputBuffer piece{bytes.data(), bytes.size()};
        taken = layer_->write(std::span<const OutputBuffer>(&piece, 1));
        if (taken == 0) pump_layer_input(std::chrono::steady_clock::now());
      }
      return taken;
    }
    const ssize_t sent = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return sent > 0 ? static_cast<std::size_t>(sent) : 0;
  }
  void send(std::string_view text) { send(as_bytes(text)); }

  /// Reads the server's response head; bytes after it go to the decoder.
  std::string read_response_head() {
    std::string received;
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    for (;;) {
      const std::size_t end = received.find("\r\n\r\n");
      if (end != std::string::npos) {
        const std::string rest = received.substr(end + 4);
        absorb(as_bytes(rest));
        return received.substr(0, end + 4);
      }
      char chunk[4096];
      const ssize_t n = receive(chunk, sizeof chunk, deadline);
      if (n <= 0) return received;
      received.append(chunk, static_cast<std::size_t>(n));
    }
  }

  /// Sends valid_upgrade_request() and reads the 101.
  std::string handshake() {
    send(ws::test::valid_upgrade_request());
    return read_response_head();
  }
  /// The same for another request-target.
  std::string handshake(std::string_view target) {
    send(ws::test::head_text("GET " + std::string(target) + " HTTP/1.1",
                             ws::test::upgrade_fields()));
    return read_response_head();
  }

  /// The next event from the server, or nothing after kWait or at the end
  /// of the stream.
  std::optional<OwnedEvent> next_event() {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (events_.empty()) {
      char chunk[65536];
      const ssize_t n = receive(chunk, sizeof chunk, deadline);
      if (n <= 0) {
        eof_ = n == 0;
        return std::nullopt;
      }
      absorb(ByteView(reinterpret_cast<const std::byte*>(chunk), static_cast<std::size_t>(n)));
    }
    OwnedEvent event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

  /// Reads (and keeps the events) until the server ends the stream.
  bool wait_for_eof() {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!eof_) {
      char chunk[65536];
      const ssize_t n = receive(chunk, sizeof chunk, deadline);
      if (n < 0) return false;
      if (n == 0) {
        eof_ = true;
        break;
      }
      absorb(ByteView(reinterpret_cast<const std::byte*>(chunk), static_cast<std::size_t>(n)));
    }
    return true;
  }

  /// Writes what the decoder queued (its reply to a close frame).
  void send_decoder_output() { send(ws::test::take_output(decoder_)); }

  void close_socket() { fd_.reset(); }

 private:
  ssize_t receive(char* buffer, std::size_t size, std::chrono::steady_clock::time_point deadline) {
    if (layer_) return receive_through_layer(buffer, size, deadline);
    for (;;) {
      pollfd readable{};
      readable.fd = fd_.get();
      readable.events = POLLIN;
      const int ready = ::poll(&readable, 1, ms_until(deadline));
      if (ready == 0) return -1;  // timed out
      const ssize_t n = ::recv(fd_.get(), buffer, size, MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno != EAGAIN && errno != EINTR) return -1;
    }
  }
  // ---- Through the stream layer ------------------------------------------
  void send_through_layer(ByteView bytes) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!bytes.empty()) {
      const OutputBuffer piece{bytes.data(), bytes.size()};
      const std::size_t taken = layer_->write(std::span<const OutputBuffer>(&piece, 1));
      bytes = bytes.subspan(taken);
      if (!flush_layer(deadline)) break;
      // Its handshake is not done yet (or its output is full): read.
      if (taken == 0 && !pump_layer_input(deadline)) break;
    }
    EXPECT_TRUE(bytes.empty()) << "the TLS layer took only part of it: "
                               << layer_->error().message();
  }
  // Writes the layer's pending wire bytes; false when the socket failed or
  // the deadline passed.
  bool flush_layer(std::chrono::steady_clock::time_point deadline) {
    while (layer_->pending_wire_size() > 0) {
      const std::span<const OutputBuffer> wire = layer_->pending_wire();
      const ssize_t sent =
          ::send(fd_.get(), wire[0].data, wire[0].size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent > 0) {
        layer_->consume_wire(static_cast<std::size_t>(sent));
        continue;
      }
      if (sent < 0 && errno != EAGAIN && errno != EINTR) return false;
      pollfd writable{};
      writable.fd = fd_.get();
      writable.events = POLLOUT;
      if (::poll(&writable, 1, ms_until(deadline)) <= 0) return false;
    }
    return true;
  }
  // Reads wire bytes into the layer (waiting until the deadline for them);
  // false at the end of the stream, on an error or at the deadline.
  bool pump_layer_input(std::chrono::steady_clock::time_point deadline) {
    char wire[16384];
    const std::size_t room = std::min(sizeof wire, layer_->wire_room());
    if (room == 0) return true;  // it holds enough to decode
    for (;;) {
      const ssize_t n = ::recv(fd_.get(), wire, room, MSG_DONTWAIT);
      if (n > 0) {
        layer_->receive_wire(
            ByteView(reinterpret_cast<const std::byte*>(wire), static_cast<std::size_t>(n)));
        return true;
      }
      if (n == 0) {
        layer_->receive_wire_eof();
        return false;
      }
      if (errno != EAGAIN && errno != EINTR) return false;
      pollfd readable{};
      readable.fd = fd_.get();
      readable.events = POLLIN;
      if (::poll(&readable, 1, ms_until(deadline)) <= 0) return false;
    }
  }
  ssize_t receive_through_layer(char* buffer, std::size_t size,
                                std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      const std::size_t n =
          layer_->read(MutableByteView(reinterpret_cast<std::byte*>(buffer), size));
      (void)flush_layer(deadline);  // its handshake, a key update
      if (n > 0) return static_cast<ssize_t>(n);
      if (layer_->read_ended()) return 0;
      if (layer_->error()) return -1;
      if (!pump_layer_input(deadline)) {
        const std::size_t last =
            layer_->read(MutableByteView(reinterpret_cast<std::byte*>(buffer), size));
        if (last > 0) return static_cast<ssize_t>(last);
        return layer_->read_ended() ? 0 : -1;
      }
    }
  }

  void absorb(ByteView bytes) {
    for (OwnedEvent& event : ws::test::feed(decoder_, bytes)) events_.push_back(std::move(event));
  }
  static Config decoder_config() {
    Config config;
    config.auto_pong = false;
    config.limits.max_message_size = 64U * 1024U * 1024U;
    config.limits.max_frame_size = 64U * 1024U * 1024U;
    return config;
  }

  FileDescriptor fd_;
  std::unique_ptr<StreamLayer> layer_;  // TLS, or null
  Connection decoder_ = Connection::after_handshake(Role::client, decoder_config());
  std::deque<OwnedEvent> events_;
  bool eof_ = false;
};

}  // namespace ws::posix::test
