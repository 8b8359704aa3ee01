// ws-load --http2 (http2_load.hpp): one epoll loop thread drives
// --h2-connections sockets, each with an nghttp2 client session. WebSocket
// i rides connection i % N as one extended CONNECT stream, so every
// connection carries connections / N of them.
//
// Flow control: this reader takes every DATA frame as it arrives, so it
// leaves nghttp2's automatic WINDOW_UPDATEs on and announces large windows
// (16 MiB per stream, 1 GiB for the connection): the server's sends are
// never held back by the client, and the run measures throughput, not a
// stall. The server's own windows (what this client may send) are the
// server's business; nghttp2 here respects them.
//
// Requests go out only after the server's first SETTINGS, which must
// announce SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 3), and a
// connection opens no more streams than its SETTINGS_MAX_CONCURRENT_STREAMS
// allows: a WebSocket past that limit fails, saying so, rather than wait.
#include "http2_load.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <span>
#include <thread>

#if WS_LOAD_TLS
#include <arpa/inet.h>

#include "tls_client_layer.hpp"
#endif

namespace ws_load {

namespace {

constexpr std::size_t read_size = 64 * 1024;
// Output is gathered from nghttp2 up to this much per write.
constexpr std::size_t write_batch = 64 * 1024;
// Reads per readiness event before other connections get their turn.
constexpr int reads_per_event = 4;
constexpr std::int32_t client_stream_window = 16 << 20;
constexpr std::int32_t client_connection_window = 1 << 30;

constexpr unsigned command_open = 1;
constexpr unsigned command_send = 2;
constexpr unsigned command_close = 4;
constexpr unsigned command_stop = 8;

std::string_view text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

nghttp2_nv field(std::string_view name, std::string_view value) {
  // nghttp2 copies names and values when the request is submitted.
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

struct Connection;
class Http2Transport;

// One WebSocket: a stream of its connection.
struct WebSocket {
  Connection* connection = nullptr;
  std::uint32_t index = 0;
  std::int32_t stream_id = 0;  // 0: not submitted
  std::uint32_t next_seq = 0;
  std::string status;       // the answer's :status
  bool opened = false;      // :status 200 arrived
  bool ended = false;       // counted in the Tally's closed
  bool deferred = false;    // the DATA source waits for output
  bool close_sent = false;  // our close frame is queued; END_STREAM follows it
  bool close_received = false;
  bool in_message = false;  // a fragmented message is being gathered
  std::string out;          // frames to send as DATA
  std::size_t out_sent = 0;
  std::string in;       // a partial frame, held between DATA chunks
  std::string message;  // the fragments gathered so far
};

enum class State { connecting, tls_handshake, http2, done };

struct Connection {
  Http2Transport* owner = nullptr;  // what nghttp2's callbacks reach it through
  int fd = -1;
  State state = State::connecting;
#if WS_LOAD_TLS
  SSL* ssl = nullptr;
#endif
  nghttp2_session* session = nullptr;
  std::vector<WebSocket*> sockets;
  std::size_t ended = 0;  // sockets ended
  bool requests_sent = false;
  bool goaway_sent = false;
  std::uint32_t events = 0;  // the epoll mask in force
  std::string out;
  std::size_t out_sent = 0;
  std::string failure;  // set in a callback; the connection fails after it
};

class Http2Transport final : public Transport {
 public:
  Http2Transport(const Options& options, Tally& tally,
                 std::shared_ptr<ws_bench::TlsClientShared> tls)
      : options_(options),
        tally_(tally),
        tls_(std::move(tls)),
        sockets_(options.connections),
        connections_(std::max<std::size_t>(
            1, std::min(options.h2_connections, std::max<std::size_t>(1, options.connections)))),
        payload_(options.size, 'x'),
        read_area_(read_size) {
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
      WebSocket& socket = sockets_[i];
      socket.index = static_cast<std::uint32_t>(i);
      socket.connection = &connections_[i % connections_.size()];
      socket.connection->sockets.push_back(&socket);
    }
    for (Connection& connection : connections_) connection.owner = this;
    authority_ = options_.host + ":" + std::to_string(options_.port);
  }

  ~Http2Transport() override {
    stop();
    for (Connection& connection : connections_) release(connection);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  bool start(std::string& error) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0) {
      error = std::string("epoll/eventfd: ") + std::strerror(errno);
      return false;
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = nullptr;  // the wake-up
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) != 0) {
      error = std::string("epoll_ctl: ") + std::strerror(errno);
      return false;
    }
    thread_ = std::thread([this] { run(); });
    return true;
  }

  void open_all(Clock::time_point deadline) override {
    post(command_open);
    while (tally_.opened.load() + tally_.failed.load() < sockets_.size() &&
           Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  std::size_t started() const override { return sockets_.size(); }
  std::size_t refused_at_once() const override { return 0; }  // all end through the Tally
  void send_all() override { post(command_send); }
  void close_all() override { post(command_close); }
  void stop() override {
    if (!thread_.joinable()) return;
    post(command_stop);
    thread_.join();
  }

  void describe(std::FILE* out) const override {
    std::size_t most = 0;
    for (const Connection& connection : connections_) {
      most = std::max(most, connection.sockets.size());
    }
    std::fprintf(out,
                 "  transport                 HTTP/2 (%s), %zu connections, %zu streams at most\n",
                 tls_ ? "ALPN h2 over TLS" : "h2c, prior knowledge", connections_.size(), most);
    std::fprintf(out,
                 "  HTTP/2 frames             DATA %zu in (%.1f KiB each), %zu out; "
                 "WINDOW_UPDATE %zu in, %zu out\n",
                 data_in_,
                 data_in_ > 0
                     ? static_cast<double>(data_bytes_in_) / 1024.0 / static_cast<double>(data_in_)
                     : 0.0,
                 data_out_, window_updates_in_, window_updates_out_);
    std::fprintf(
        out, "  socket reads              %zu (%.1f KiB each)\n", reads_,
        reads_ > 0 ? static_cast<double>(bytes_read_) / 1024.0 / static_cast<double>(reads_) : 0.0);
  }

  std::string result_fields() const override {
    return " http2=1 h2_connections=" + std::to_string(connections_.size()) +
           " h2_data_frames_in=" + std::to_string(data_in_) +
           " h2_data_frames_out=" + std::to_string(data_out_) +
           " h2_window_updates_in=" + std::to_string(window_updates_in_);
  }

 private:
  // ---- The loop ----------------------------------------------------------

  void post(unsigned command) {
    commands_.fetch_or(command);
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }

  void run() {
    std::array<epoll_event, 64> events{};
    while (true) {
      const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        tally_.note_error(std::string("epoll_wait: ") + std::strerror(errno));
        return;
      }
      for (const epoll_event& event : std::span(events.data(), static_cast<std::size_t>(n))) {
        if (event.data.ptr == nullptr) {
          std::uint64_t count = 0;
          (void)!::read(wake_fd_, &count, sizeof count);
          const unsigned commands = commands_.exchange(0);
          if ((commands & command_open) != 0) open_connections();
          if ((commands & command_send) != 0) send_first_messages();
          if ((commands & command_close) != 0) close_websockets();
          if ((commands & command_stop) != 0) return;
          continue;
        }
        handle(*static_cast<Connection*>(event.data.ptr), event.events);
      }
    }
  }

  void set_events(Connection& connection, std::uint32_t events) {
    if (connection.fd < 0 || connection.events == events) return;
    epoll_event event{};
    event.events = events;
    event.data.ptr = &connection;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, connection.fd, &event);
    connection.events = events;
  }

  void open_connections() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(options_.port);
    if (const int error = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found);
        error != 0) {
      for (Connection& connection : connections_) {
        fail(connection,
             std::string("cannot resolve ") + options_.host + ": " + ::gai_strerror(error));
      }
      return;
    }
    for (Connection& connection : connections_) {
      connection.fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (connection.fd < 0) {
        fail(connection, std::string("socket: ") + std::strerror(errno));
        continue;
      }
      const int on = 1;
      ::setsockopt(connection.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      if (::connect(connection.fd, found->ai_addr, found->ai_addrlen) != 0 &&
          errno != EINPROGRESS) {
        fail(connection, std::string("connect: ") + std::strerror(errno));
        continue;
      }
      epoll_event event{};
      event.events = EPOLLOUT;
      event.data.ptr = &connection;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, connection.fd, &event);
      connection.events = EPOLLOUT;
    }
    ::freeaddrinfo(found);
  }

  void handle(Connection& connection, std::uint32_t events) {
    switch (connection.state) {
      case State::connecting: {
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(connection.fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
          fail(connection, std::string("connect: ") + std::strerror(error));
          return;
        }
        if (tls_) {
          start_tls(connection);
        } else {
          start_http2(connection);
        }
        return;
      }
      case State::tls_handshake:
        advance_tls(connection);
        return;
      case State::http2:
        if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) read_input(connection);
        flush(connection);
        return;
      case State::done:
        return;
    }
  }

  // ---- TLS -----------------------------------------------------------------

  void start_tls(Connection& connection) {
#if WS_LOAD_TLS
    SSL* ssl = SSL_new(tls_->ctx());
    if (ssl == nullptr || SSL_set_fd(ssl, connection.fd) != 1) {
      SSL_free(ssl);
      fail(connection, "SSL_new: " + ws_bench::TlsClientShared::take_errors());
      return;
    }
    connection.ssl = ssl;
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_connect_state(ssl);
    static constexpr unsigned char alpn[] = {2, 'h', '2'};
    SSL_set_alpn_protos(ssl, alpn, sizeof alpn);
    unsigned char address[16];
    const bool literal = ::inet_pton(AF_INET, options_.host.c_str(), address) == 1 ||
                         ::inet_pton(AF_INET6, options_.host.c_str(), address) == 1;
    if (!literal) {
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(options_.host.c_str()));
    }
    if (tls_->verify()) {
      if (literal) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), options_.host.c_str());
      } else {
        SSL_set1_host(ssl, options_.host.c_str());
      }
    }
    connection.state = State::tls_handshake;
    advance_tls(connection);
#else
    fail(connection, "--tls: built without OpenSSL");
#endif
  }

  void advance_tls(Connection& connection) {
#if WS_LOAD_TLS
    const int result = SSL_do_handshake(connection.ssl);
    if (result == 1) {
      const unsigned char* chosen = nullptr;
      unsigned int length = 0;
      SSL_get0_alpn_selected(connection.ssl, &chosen, &length);
      if (text(chosen, length) != "h2") {
        fail(connection, "the server did not choose h2 by ALPN");
        return;
      }
      tls_->note_handshake(connection.ssl);
      start_http2(connection);
      return;
    }
    const int why = SSL_get_error(connection.ssl, result);
    if (why == SSL_ERROR_WANT_READ) {
      set_events(connection, EPOLLIN);
    } else if (why == SSL_ERROR_WANT_WRITE) {
      set_events(connection, EPOLLIN | EPOLLOUT);
    } else {
      std::string reason = ws_bench::TlsClientShared::take_errors();
      if (const long verdict = SSL_get_verify_result(connection.ssl);
          tls_->verify() && verdict != X509_V_OK) {
        reason = std::string("certificate: ") + X509_verify_cert_error_string(verdict);
      }
      fail(connection,
           "TLS handshake: " + (reason.empty() ? "SSL_get_error " + std::to_string(why) : reason));
    }
#else
    fail(connection, "--tls: built without OpenSSL");
#endif
  }

  // ---- Socket I/O ----------------------------------------------------------

  // Bytes read into read_area_: > 0, 0 at the end of the stream, -1 when
  // nothing is there now, -2 on an error (the connection failed).
  ssize_t read_some(Connection& connection) {
#if WS_LOAD_TLS
    if (connection.ssl != nullptr) {
      std::size_t n = 0;
      const int result = SSL_read_ex(connection.ssl, read_area_.data(), read_area_.size(), &n);
      if (result == 1) return static_cast<ssize_t>(n);
      const int why = SSL_get_error(connection.ssl, result);
      if (why == SSL_ERROR_WANT_READ || why == SSL_ERROR_WANT_WRITE) return -1;
      if (why == SSL_ERROR_ZERO_RETURN) return 0;
      fail(connection, "TLS: " + ws_bench::TlsClientShared::take_errors());
      return -2;
    }
#endif
    const ssize_t n = ::recv(connection.fd, read_area_.data(), read_area_.size(), 0);
    if (n >= 0) return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return -1;
    fail(connection, std::string("recv: ") + std::strerror(errno));
    return -2;
  }

  // Bytes written from connection.out: >= 0, or -1 on an error (the
  // connection failed).
  ssize_t write_some(Connection& connection) {
    const char* data = connection.out.data() + connection.out_sent;
    const std::size_t size = connection.out.size() - connection.out_sent;
#if WS_LOAD_TLS
    if (connection.ssl != nullptr) {
      std::size_t n = 0;
      const int result = SSL_write_ex(connection.ssl, data, size, &n);
      if (result == 1) return static_cast<ssize_t>(n);
      const int why = SSL_get_error(connection.ssl, result);
      if (why == SSL_ERROR_WANT_WRITE || why == SSL_ERROR_WANT_READ) return 0;
      fail(connection, "TLS: " + ws_bench::TlsClientShared::take_errors());
      return -1;
    }
#endif
    const ssize_t n = ::send(connection.fd, data, size, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    fail(connection, std::string("send: ") + std::strerror(errno));
    return -1;
  }

  // Over TLS every record is read until OpenSSL wants more from the socket:
  // epoll cannot tell of plaintext OpenSSL already holds. A plain socket
  // gets reads_per_event reads, then the other connections their turn.
  void read_input(Connection& connection) {
    const bool tls = tls_ != nullptr;
    for (int i = 0; (tls || i < reads_per_event) && connection.state == State::http2; ++i) {
      const ssize_t n = read_some(connection);
      if (n == -1 || n == -2) return;
      if (n == 0) {
        if (connection.ended == connection.sockets.size()) {
          finish(connection);
        } else {
          fail(connection, "the server ended the connection");
        }
        return;
      }
      ++reads_;
      bytes_read_ += static_cast<std::size_t>(n);
      const ssize_t used = nghttp2_session_mem_recv(
          connection.session, reinterpret_cast<const std::uint8_t*>(read_area_.data()),
          static_cast<std::size_t>(n));
      if (used < 0) {
        fail(connection, connection.failure.empty()
                             ? std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(used))
                             : connection.failure);
        return;
      }
      if (!tls && static_cast<std::size_t>(n) < read_area_.size()) return;  // drained
    }
  }

  // Writes what is pending, then what nghttp2 has, until the socket is full
  // (then EPOLLOUT is awaited) or nothing is left.
  void flush(Connection& connection) {
    while (connection.state == State::http2) {
      while (connection.out_sent < connection.out.size()) {
        const ssize_t n = write_some(connection);
        if (n < 0) return;
        if (n == 0) {
          set_events(connection, EPOLLIN | EPOLLOUT);
          return;
        }
        connection.out_sent += static_cast<std::size_t>(n);
      }
      connection.out.clear();
      connection.out_sent = 0;
      while (connection.out.size() < write_batch) {
        const std::uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(connection.session, &data);
        if (n < 0) {
          fail(connection, std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(n)));
          return;
        }
        if (n == 0) break;
        connection.out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
      }
      if (connection.out.empty()) break;
    }
    if (connection.state != State::http2) return;
    set_events(connection, EPOLLIN);
    if (nghttp2_session_want_read(connection.session) == 0 &&
        nghttp2_session_want_write(connection.session) == 0) {
      // GOAWAY both ways, or ours with no stream left: clean when every
      // WebSocket had ended already.
      fail(connection,
           connection.failure.empty() ? "the HTTP/2 session ended" : connection.failure);
    }
  }

  void flush_all() {
    for (Connection& connection : connections_) flush(connection);
  }

  // ---- HTTP/2 --------------------------------------------------------------

  void start_http2(Connection& connection) {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) {
      fail(connection, "nghttp2_session_callbacks_new failed");
      return;
    }
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    const int made = nghttp2_session_client_new(&connection.session, callbacks, &connection);
    nghttp2_session_callbacks_del(callbacks);
    if (made != 0) {
      connection.session = nullptr;
      fail(connection, "nghttp2_session_client_new failed");
      return;
    }
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(client_stream_window)},
    };
    if (nghttp2_submit_settings(connection.session, NGHTTP2_FLAG_NONE, settings,
                                std::size(settings)) != 0 ||
        nghttp2_session_set_local_window_size(connection.session, NGHTTP2_FLAG_NONE, 0,
                                              client_connection_window) != 0) {
      fail(connection, "cannot submit the client's SETTINGS");
      return;
    }
    connection.state = State::http2;
    set_events(connection, EPOLLIN);
    flush(connection);  // the preface and SETTINGS
  }

  // After the server's first SETTINGS: every WebSocket of this connection
  // asks for its stream.
  void submit_requests(Connection& connection) {
    connection.requests_sent = true;
    nghttp2_session* session = connection.session;
    if (nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) !=
        1) {
      connection.failure = "the server's SETTINGS lack SETTINGS_ENABLE_CONNECT_PROTOCOL";
      return;
    }
    const std::uint32_t most =
        nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    const nghttp2_nv fields[] = {
        field(":method", "CONNECT"),
        field(":protocol", "websocket"),
        field(":scheme", tls_ ? "https" : "http"),
        field(":path", "/load"),
        field(":authority", authority_),
        field("sec-websocket-version", "13"),
    };
    std::size_t asked = 0;
    for (WebSocket* socket : connection.sockets) {
      if (asked >= most) {
        end(*socket, "the server allows " + std::to_string(most) +
                         " streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS); " +
                         std::to_string(connection.sockets.size()) +
                         " WebSockets were to share one: use more --h2-connections");
        continue;
      }
      nghttp2_data_provider provider{};
      provider.source.ptr = socket;
      provider.read_callback = read_output;
      const std::int32_t id =
          nghttp2_submit_request(session, nullptr, fields, std::size(fields), &provider, socket);
      if (id < 0) {
        end(*socket, std::string("nghttp2_submit_request: ") + nghttp2_strerror(id));
        continue;
      }
      socket->stream_id = id;
      ++asked;
    }
  }

  static Connection& connection_of(void* user_data) { return *static_cast<Connection*>(user_data); }
  static Http2Transport& self(void* user_data) { return *connection_of(user_data).owner; }
  static WebSocket* socket_of(nghttp2_session* session, std::int32_t stream_id) {
    return static_cast<WebSocket*>(nghttp2_session_get_stream_user_data(session, stream_id));
  }

  static int on_header(nghttp2_session* session, const nghttp2_frame* frame,
                       const std::uint8_t* name, std::size_t name_size, const std::uint8_t* value,
                       std::size_t value_size, std::uint8_t, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS || text(name, name_size) != ":status") return 0;
    if (WebSocket* socket = socket_of(session, frame->hd.stream_id)) {
      socket->status = text(value, value_size);
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    Http2Transport& transport = self(user_data);
    switch (frame->hd.type) {
      case NGHTTP2_SETTINGS: {
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) return 0;
        Connection& connection = connection_of(user_data);
        if (!connection.requests_sent) transport.submit_requests(connection);
        return connection.failure.empty() ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      case NGHTTP2_HEADERS: {
        WebSocket* socket = socket_of(session, frame->hd.stream_id);
        if (socket == nullptr || socket->opened || frame->headers.cat != NGHTTP2_HCAT_RESPONSE) {
          return 0;
        }
        if (socket->status == "200") {
          socket->opened = true;
          transport.tally_.mark_opened(socket->index);
        }
        // Another status: the stream ends, and the WebSocket fails then.
        return 0;
      }
      case NGHTTP2_DATA:
        ++transport.data_in_;
        transport.data_bytes_in_ += frame->hd.length;
        return 0;
      case NGHTTP2_WINDOW_UPDATE:
        ++transport.window_updates_in_;
        return 0;
      case NGHTTP2_GOAWAY:
        if (frame->goaway.error_code != NGHTTP2_NO_ERROR) {
          transport.tally_.note_error("HTTP/2 GOAWAY from the server, error code " +
                                      std::to_string(frame->goaway.error_code));
        }
        return 0;
      default:
        return 0;
    }
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    Http2Transport& transport = self(user_data);
    if (frame->hd.type == NGHTTP2_DATA) ++transport.data_out_;
    if (frame->hd.type == NGHTTP2_WINDOW_UPDATE) ++transport.window_updates_out_;
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR) {
      // nghttp2 ends the session itself on a protocol error by the server.
      connection_of(user_data).failure =
          std::string("HTTP/2: the server broke the protocol (ws-load sent GOAWAY ") +
          nghttp2_http2_strerror(frame->goaway.error_code) + ")";
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                           const std::uint8_t* data, std::size_t size, void* user_data) {
    WebSocket* socket = socket_of(session, stream_id);
    if (socket == nullptr || !socket->opened) return 0;
    self(user_data).receive(*socket, reinterpret_cast<const char*>(data), size);
    return 0;
  }

  static int on_stream_close(nghttp2_session* session, std::int32_t stream_id,
                             std::uint32_t error_code, void* user_data) {
    WebSocket* socket = socket_of(session, stream_id);
    if (socket == nullptr) return 0;
    Http2Transport& transport = self(user_data);
    std::string why;
    if (!socket->opened) {
      why = socket->status.empty() ? "stream closed before an answer"
                                   : "the server answered :status " + socket->status;
    } else if (error_code != NGHTTP2_NO_ERROR) {
      why = "stream reset, error code " + std::to_string(error_code);
    } else if (!socket->close_received) {
      why = "stream ended without the WebSocket close handshake";
    }
    transport.end(*socket, why);
    return 0;
  }

  // DATA of a WebSocket's stream: the frames it queued.
  static ssize_t read_output(nghttp2_session*, std::int32_t, std::uint8_t* buffer,
                             std::size_t length, std::uint32_t* flags, nghttp2_data_source* source,
                             void*) {
    WebSocket& socket = *static_cast<WebSocket*>(source->ptr);
    const std::size_t n = std::min(length, socket.out.size() - socket.out_sent);
    std::memcpy(buffer, socket.out.data() + socket.out_sent, n);
    socket.out_sent += n;
    if (socket.out_sent == socket.out.size()) {
      socket.out.clear();
      socket.out_sent = 0;
      if (socket.close_sent) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;  // the close frame was the last
      } else if (n == 0) {
        socket.deferred = true;
        return NGHTTP2_ERR_DEFERRED;
      }
    }
    return static_cast<ssize_t>(n);
  }

  // ---- WebSocket frames ----------------------------------------------------

  std::uint32_t next_mask() {
    // xorshift64: a fresh masking key per frame, cheaply.
    random_ ^= random_ << 13;
    random_ ^= random_ >> 7;
    random_ ^= random_ << 17;
    return static_cast<std::uint32_t>(random_);
  }

  // Queues one masked frame on `socket`'s stream (RFC 6455 5.2, 5.3).
  void queue_frame(WebSocket& socket, std::uint8_t first_byte, const char* payload,
                   std::size_t size) {
    std::string& out = socket.out;
    const std::size_t start = out.size();
    char header[14];
    std::size_t header_size = 2;
    header[0] = static_cast<char>(first_byte);
    if (size < 126) {
      header[1] = static_cast<char>(0x80 | size);
    } else if (size <= 0xFFFF) {
      header[1] = static_cast<char>(0x80 | 126);
      header[2] = static_cast<char>(size >> 8);
      header[3] = static_cast<char>(size);
      header_size = 4;
    } else {
      header[1] = static_cast<char>(0x80 | 127);
      for (std::size_t i = 0; i < 8; ++i) {
        header[2 + i] = static_cast<char>(std::uint64_t{size} >> (56 - 8 * i));
      }
      header_size = 10;
    }
    const std::uint32_t mask = next_mask();
    std::memcpy(header + header_size, &mask, 4);
    out.append(header, header_size + 4);
    out.append(payload, size);
    char key[4];
    std::memcpy(key, &mask, 4);
    char* data = out.data() + start + header_size + 4;
    for (std::size_t i = 0; i < size; ++i) data[i] ^= key[i & 3];
    if (socket.deferred) {
      socket.deferred = false;
      nghttp2_session_resume_data(socket.connection->session, socket.stream_id);
    }
  }

  void send_next(WebSocket& socket) {
    Tally::stamp(std::span(reinterpret_cast<std::byte*>(payload_.data()), payload_.size()),
                 socket.index, socket.next_seq++);
    queue_frame(socket, 0x82, payload_.data(), payload_.size());  // FIN, binary
  }

  void send_first_messages() {
    const std::size_t first =
        options_.window > 0 ? std::min(options_.window, options_.messages) : options_.messages;
    for (WebSocket& socket : sockets_) {
      if (!socket.opened || socket.ended) continue;
      for (std::size_t i = 0; i < first; ++i) send_next(socket);
    }
    flush_all();
  }

  void send_close(WebSocket& socket) {
    if (socket.close_sent) return;
    const char code[2] = {static_cast<char>(1000 >> 8), static_cast<char>(1000 & 0xFF)};
    queue_frame(socket, 0x88, code, sizeof code);  // FIN, close, 1000
    socket.close_sent = true;
  }

  void close_websockets() {
    for (WebSocket& socket : sockets_) {
      if (socket.ended || socket.stream_id == 0) continue;
      if (socket.opened) {
        send_close(socket);
      } else {
        // Never answered: given up on.
        nghttp2_submit_rst_stream(socket.connection->session, NGHTTP2_FLAG_NONE, socket.stream_id,
                                  NGHTTP2_CANCEL);
      }
    }
    flush_all();
  }

  // DATA of an open WebSocket: whole frames are taken where they lie, a
  // partial one is kept for the next chunk.
  void receive(WebSocket& socket, const char* data, std::size_t size) {
    if (socket.in.empty()) {
      const std::size_t used = take_frames(socket, data, size);
      if (used < size) socket.in.assign(data + used, size - used);
      return;
    }
    socket.in.append(data, size);
    const std::size_t used = take_frames(socket, socket.in.data(), socket.in.size());
    socket.in.erase(0, used);
  }

  // Frames from the server (unmasked); returns the bytes of whole frames.
  std::size_t take_frames(WebSocket& socket, const char* data, std::size_t size) {
    std::size_t at = 0;
    while (size - at >= 2) {
      const auto b0 = static_cast<std::uint8_t>(data[at]);
      const auto b1 = static_cast<std::uint8_t>(data[at + 1]);
      std::size_t header = 2;
      std::uint64_t length = b1 & 0x7F;
      if (length == 126) {
        if (size - at < 4) break;
        length = (std::uint64_t{static_cast<std::uint8_t>(data[at + 2])} << 8) |
                 static_cast<std::uint8_t>(data[at + 3]);
        header = 4;
      } else if (length == 127) {
        if (size - at < 10) break;
        length = 0;
        for (std::size_t i = 0; i < 8; ++i) {
          length = (length << 8) | static_cast<std::uint8_t>(data[at + 2 + i]);
        }
        header = 10;
      }
      if ((b1 & 0x80) != 0) {
        tally_.note_error("a server frame was masked");
        header += 4;  // counted as foreign below, not unmasked
      }
      if (size - at < header || size - at - header < length) break;
      const char* payload = data + at + header;
      const std::size_t payload_size = static_cast<std::size_t>(length);
      at += header + payload_size;
      take_frame(socket, b0, (b1 & 0x80) != 0, payload, payload_size);
    }
    return at;
  }

  void take_frame(WebSocket& socket, std::uint8_t b0, bool masked, const char* payload,
                  std::size_t size) {
    const bool fin = (b0 & 0x80) != 0;
    const int opcode = b0 & 0x0F;
    switch (opcode) {
      case 0x0:  // continuation
      case 0x1:
      case 0x2: {
        if ((opcode == 0) != socket.in_message || masked) {
          tally_.foreign.fetch_add(1);
          socket.in_message = false;
          return;
        }
        if (!fin) {
          if (opcode != 0) socket.message.clear();
          socket.message.append(payload, size);
          socket.in_message = true;
          return;
        }
        std::span<const std::byte> message(reinterpret_cast<const std::byte*>(payload), size);
        if (socket.in_message) {
          socket.message.append(payload, size);
          socket.in_message = false;
          message = std::span(reinterpret_cast<const std::byte*>(socket.message.data()),
                              socket.message.size());
        }
        if (tally_.take_echo(socket.index, message) && options_.window > 0 &&
            socket.next_seq < options_.messages && !socket.close_sent) {
          send_next(socket);
        }
        return;
      }
      case 0x8:  // close: answered once, then our side of the stream ends
        socket.close_received = true;
        send_close(socket);
        return;
      case 0x9:  // ping
        queue_frame(socket, 0x8A, payload, size);
        return;
      default:
        return;
    }
  }

  // ---- Ends ----------------------------------------------------------------

  // The WebSocket is over; `why` is empty for a clean end.
  void end(WebSocket& socket, const std::string& why) {
    if (socket.ended) return;
    socket.ended = true;
    Connection& connection = *socket.connection;
    ++connection.ended;
    if (!socket.opened) {
      tally_.failed.fetch_add(1);
    } else if (!tally_.closing.load()) {
      tally_.ended_early.fetch_add(1);
    }
    if (!why.empty()) tally_.note_error(why);
    tally_.closed.fetch_add(1);
    if (connection.ended == connection.sockets.size() && connection.session != nullptr &&
        !connection.goaway_sent) {
      // Nothing left on it: GOAWAY, then the socket closes (flush()).
      connection.goaway_sent = true;
      nghttp2_session_terminate_session(connection.session, NGHTTP2_NO_ERROR);
    }
  }

  void fail(Connection& connection, const std::string& why) {
    if (connection.state == State::done) return;
    for (WebSocket* socket : connection.sockets) end(*socket, why);
    finish(connection);
  }

  // Closes the socket; the session stays until the transport goes (a
  // callback of it may be what got here).
  void finish(Connection& connection) {
    if (connection.state == State::done) return;
    for (WebSocket* socket : connection.sockets) {
      end(*socket, "the connection ended with the WebSocket open");
    }
    connection.state = State::done;
#if WS_LOAD_TLS
    if (connection.ssl != nullptr) {
      ERR_clear_error();
      (void)SSL_shutdown(connection.ssl);  // close_notify; the server's is not awaited
      ERR_clear_error();
    }
#endif
    if (connection.fd >= 0) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, connection.fd, nullptr);
      ::close(connection.fd);
      connection.fd = -1;
    }
  }

  void release(Connection& connection) {
    finish(connection);
#if WS_LOAD_TLS
    SSL_free(connection.ssl);
    connection.ssl = nullptr;
#endif
    if (connection.session != nullptr) nghttp2_session_del(connection.session);
    connection.session = nullptr;
  }

  const Options& options_;
  Tally& tally_;
  std::shared_ptr<ws_bench::TlsClientShared> tls_;
  std::vector<WebSocket> sockets_;
  std::vector<Connection> connections_;
  std::string authority_;
  std::string payload_;  // the message being sent
  std::vector<char> read_area_;
  std::uint64_t random_ =
      std::uint64_t{0x9E3779B97F4A7C15} ^ static_cast<std::uint64_t>(::getpid());
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<unsigned> commands_{0};
  std::thread thread_;
  // Counted on the loop thread, read after it ended.
  std::size_t data_in_ = 0;
  std::size_t data_bytes_in_ = 0;
  std::size_t data_out_ = 0;
  std::size_t window_updates_in_ = 0;
  std::size_t window_updates_out_ = 0;
  std::size_t reads_ = 0;
  std::size_t bytes_read_ = 0;
};

}  // namespace

std::unique_ptr<Transport> make_http2_transport(const Options& options, Tally& tally,
                                                std::shared_ptr<ws_bench::TlsClientShared> tls,
                                                std::string& error) {
  auto transport = std::make_unique<Http2Transport>(options, tally, std::move(tls));
  if (!transport->start(error)) return nullptr;
  return transport;
}

}  // namespace ws_load
