// beast-echo: a WebSocket echo server written with Boost.Beast 1.74, the
// B5 peer of ws-echo (docs/performance.md). One thread, one io_context,
// Beast's defaults (no compression); each session reads a message and
// writes it back, as Beast's own echo examples do. With --tls, the same
// over boost::beast::ssl_stream<beast::tcp_stream> (Boost.Asio's ssl,
// OpenSSL): a TLS handshake, then the WebSocket one, as in Beast's
// advanced_server_flex example; OpenSSL's defaults otherwise, as ws-echo
// --io asio --tls has them (TLS 1.2 and 1.3, session tickets).
//
//   beast-echo [--port 0] [--memory-report] [--tls CERT KEY]
//     prints "listening on 127.0.0.1:PORT"; with --memory-report, a line
//     "memory: heap_in_use=... mmapped=... rss_kib=..." on each SIGUSR2
//     (bench/peers/memory_report.hpp, shared with ws-echo); with --tls,
//     serves wss:// with that certificate chain and private key (PEM)
#include <sys/resource.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#if WS_BEAST_ECHO_TLS
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>
#endif

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "memory_report.hpp"
#include "peer_args.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

using PlainStream = beast::tcp_stream;
#if WS_BEAST_ECHO_TLS
namespace ssl = boost::asio::ssl;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using TlsContext = ssl::context;
#else
struct TlsStream {};  // built without OpenSSL: --tls is refused
struct TlsContext {};
#endif

template <class NextLayer>
class Session : public std::enable_shared_from_this<Session<NextLayer>> {
 public:
  // (socket) for PlainStream, (socket, TLS context) for TlsStream.
  template <class... Args>
  explicit Session(tcp::socket socket, Args&... args) : stream_(std::move(socket), args...) {}

  void start() {
#if WS_BEAST_ECHO_TLS
    if constexpr (std::is_same_v<NextLayer, TlsStream>) {
      stream_.next_layer().async_handshake(ssl::stream_base::server,
                                           [self = this->shared_from_this()](beast::error_code ec) {
                                             if (!ec) self->accept();
                                           });
      return;
    }
#endif
    accept();
  }

 private:
  void accept() {
    stream_.async_accept([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->read();
    });
  }
  void read() {
    stream_.async_read(buffer_,
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) return;
                         self->stream_.text(self->stream_.got_text());
                         self->stream_.async_write(
                             buffer_of(*self), [self](beast::error_code write_error, std::size_t) {
                               if (write_error) return;
                               self->buffer_.consume(self->buffer_.size());
                               self->read();
                             });
                       });
  }
  static beast::flat_buffer::const_buffers_type buffer_of(Session& s) { return s.buffer_.data(); }

  websocket::stream<NextLayer> stream_;
  beast::flat_buffer buffer_;
};

void accept_loop(tcp::acceptor& acceptor, TlsContext* tls) {
  acceptor.async_accept([&acceptor, tls](beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true));
#if WS_BEAST_ECHO_TLS
      if (tls != nullptr) {
        std::make_shared<Session<TlsStream>>(std::move(socket), *tls)->start();
      } else {
        std::make_shared<Session<PlainStream>>(std::move(socket))->start();
      }
#else
      (void)tls;
      std::make_shared<Session<PlainStream>>(std::move(socket))->start();
#endif
    }
    accept_loop(acceptor, tls);
  });
}

void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const ws_bench::PeerArgs args = ws_bench::parse_peer_args(argc, argv);
  const unsigned long port = args.port;
  std::optional<TlsContext> tls;
  if (!args.tls_certificate.empty()) {
#if !WS_BEAST_ECHO_TLS
    std::fprintf(stderr, "beast-echo: --tls: built without OpenSSL\n");
    return 2;
#else
    tls.emplace(ssl::context::tls_server);
    beast::error_code error;
    tls->use_certificate_chain_file(args.tls_certificate, error);
    if (!error) tls->use_private_key_file(args.tls_key, ssl::context::pem, error);
    if (error) {
      std::fprintf(stderr, "beast-echo: cannot load the TLS certificate or key: %s\n",
                   error.message().c_str());
      return 1;
    }
#endif
  }
  // Before any other thread starts: SIGUSR2 stays blocked in all of them.
  std::optional<ws_bench::MemoryReport> report;
  if (args.memory_report) report.emplace();
  raise_open_file_limit();
  net::io_context io(1);
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"),
                               static_cast<unsigned short>(port));
  acceptor.open(endpoint.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(4096);
  std::printf("listening on 127.0.0.1:%u\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  accept_loop(acceptor, tls ? &*tls : nullptr);
  io.run();
  return 0;
}
