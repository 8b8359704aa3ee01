// beast-echo: a WebSocket echo server written with Boost.Beast 1.74, the
// B5 peer of ws-echo (docs/performance.md). One thread, one io_context,
// Beast's defaults (no compression); each session reads a message and
// writes it back, as Beast's own echo examples do.
//
//   beast-echo [--port 0] [--memory-report]
//     prints "listening on 127.0.0.1:PORT"; with --memory-report, a line
//     "memory: heap_in_use=... mmapped=... rss_kib=..." on each SIGUSR2
//     (bench/peers/memory_report.hpp, shared with ws-echo)
#include <sys/resource.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include "memory_report.hpp"
#include "peer_args.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : stream_(std::move(socket)) {}

  void start() {
    stream_.async_accept([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->read();
    });
  }

 private:
  void read() {
    stream_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->stream_.text(self->stream_.got_text());
      self->stream_.async_write(buffer_of(*self),
                                [self](beast::error_code write_error, std::size_t) {
                                  if (write_error) return;
                                  self->buffer_.consume(self->buffer_.size());
                                  self->read();
                                });
    });
  }
  static beast::flat_buffer::const_buffers_type buffer_of(Session& s) { return s.buffer_.data(); }

  websocket::stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

void accept_loop(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket))->start();
    }
    accept_loop(acceptor);
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
  accept_loop(acceptor);
  io.run();
  return 0;
}
