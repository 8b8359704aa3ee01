// ws-echo --io uring: one io_uring loop for every connection. Where the
// kernel or a sandbox refuses io_uring it says so in one line and exits 1.
#include <chrono>
#include <cstdio>

#include "common/shutdown_signal.hpp"
#include "common/tls_setup.hpp"
#include "echo/echo_backends.hpp"
#include "echo/echo_config.hpp"
#include "ws/uring/uring_loop.hpp"
#include "ws/uring/uring_server.hpp"

namespace ws::examples {

int run_echo_uring(const EchoOptions& options) {
  uring::UringLoop loop;
  if (loop.creation_error()) {
    std::fprintf(stderr, "ws-echo: --io uring: %s\n", loop.creation_message().c_str());
    return 1;
  }
  uring::UringServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.config = echo_config(options);
  server_options.join_path_channel = false;
  server_options.keep_request = false;  // never looked at after the handshake
  server_options.accept.subprotocols = options.subprotocols;
  server_options.backpressure.high_water = 2 * options.max_message + 1024 * 1024;
  server_options.zero_copy_send = options.zero_copy;
  if (!make_server_tls(options, "ws-echo", server_options.stream_layer)) return 1;
  Handler echo;
  echo.on_message = [](const SessionPtr& session, const Message& message) {
    if (message.kind == MessageKind::text) {
      (void)session->send_text(message.text());
    } else {
      (void)session->send_binary(message.payload);
    }
  };
  Result<uring::UringServer> server = uring::UringServer::listen(loop, server_options, echo);
  if (!server) {
    std::fprintf(stderr, "ws-echo: cannot listen on %s: %s\n",
                 host_port(options.host, options.port).c_str(), server.error().message().c_str());
    return 1;
  }
  ShutdownSignal signal(
      [&] { loop.post([&] { server->shutdown(std::chrono::seconds(5), [&] { loop.stop(); }); }); },
      [&] {
        // io_uring work is not seen as system calls: scripts/bench reads it
        // here, before and after a run.
        const uring::UringStats stats = loop.stats();
        std::printf("uring: enter_calls=%llu submissions=%llu completions=%llu\n",
                    static_cast<unsigned long long>(stats.enter_calls),
                    static_cast<unsigned long long>(stats.sqes_submitted),
                    static_cast<unsigned long long>(stats.cqes_handled));
        std::fflush(stdout);
      });
  std::printf("listening on %s\n", host_port(options.host, server->port()).c_str());
  std::fflush(stdout);
  const std::error_code error = loop.run();
  if (error) {
    std::fprintf(stderr, "ws-echo: %s\n", error.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace ws::examples
