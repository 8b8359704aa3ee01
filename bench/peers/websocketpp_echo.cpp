// websocketpp-echo: a WebSocket echo server written with websocketpp 0.8.2
// (Asio transport, Boost.Asio, no TLS), the B5 peer of ws-echo
// (docs/performance.md). One thread; logging off; otherwise the library's
// defaults, as in its echo_server example.
//
//   websocketpp-echo [--port 0] [--memory-report]
//     prints "listening on 127.0.0.1:PORT"; with --memory-report, a line
//     "memory: heap_in_use=... mmapped=... rss_kib=..." on each SIGUSR2
//     (bench/peers/memory_report.hpp, shared with ws-echo)
#include <sys/resource.h>

#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "memory_report.hpp"
#include "peer_args.hpp"

namespace {

using Server = websocketpp::server<websocketpp::config::asio>;

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
  if (!args.tls_certificate.empty()) {
    std::fprintf(stderr, "websocketpp-echo: --tls is not supported (beast-echo has it)\n");
    return 2;
  }
  // Before any other thread starts: SIGUSR2 stays blocked in all of them.
  std::optional<ws_bench::MemoryReport> report;
  if (args.memory_report) report.emplace();
  raise_open_file_limit();
  Server server;
  server.clear_access_channels(websocketpp::log::alevel::all);
  server.clear_error_channels(websocketpp::log::elevel::all);
  server.init_asio();
  server.set_reuse_addr(true);
  server.set_listen_backlog(4096);
  server.set_message_handler([&server](websocketpp::connection_hdl hdl, Server::message_ptr m) {
    websocketpp::lib::error_code ec;
    server.send(hdl, m->get_payload(), m->get_opcode(), ec);
  });
  websocketpp::lib::asio::ip::tcp::endpoint endpoint(
      websocketpp::lib::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
  server.listen(endpoint);
  websocketpp::lib::asio::error_code ec;
  const auto local = server.get_local_endpoint(ec);
  std::printf("listening on 127.0.0.1:%u\n", local.port());
  std::fflush(stdout);
  server.start_accept();
  server.run();
  return 0;
}
