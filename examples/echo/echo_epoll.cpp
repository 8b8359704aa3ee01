// ws-echo --io epoll: one epoll loop for every connection (the default).
#include <chrono>
#include <cstdio>

#include "common/http2_setup.hpp"
#include "common/shutdown_signal.hpp"
#include "common/tls_setup.hpp"
#include "echo/echo_backends.hpp"
#include "echo/echo_config.hpp"
#include "ws/posix/epoll_loop.hpp"
#include "ws/posix/epoll_server.hpp"

namespace ws::examples {

int run_echo_epoll(const EchoOptions& options) {
  posix::EpollLoop loop;
  posix::EpollServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.config = echo_config(options);
  server_options.join_path_channel = false;
  // An echo server never looks at the request after the handshake.
  server_options.keep_request = false;
  server_options.accept.subprotocols = options.subprotocols;
  server_options.backpressure.high_water = 2 * options.max_message + 1024 * 1024;
  if (!make_server_tls(options, "ws-echo", server_options.stream_layer)) return 1;
  if (!make_server_http2(options, "ws-echo", false, server_options)) return 1;
  posix::EpollHandler echo;
  echo.on_message = [](const posix::EpollSessionPtr& session, const Message& message) {
    if (message.kind == MessageKind::text) {
      (void)session->send_text(message.text());
    } else {
      (void)session->send_binary(message.payload);
    }
  };
  Result<posix::EpollServer> server = posix::EpollServer::listen(loop, server_options, echo);
  if (!server) {
    std::fprintf(stderr, "ws-echo: cannot listen on %s: %s\n",
                 host_port(options.host, options.port).c_str(), server.error().message().c_str());
    return 1;
  }
  ShutdownSignal signal(
      [&] { loop.post([&] { server->shutdown(std::chrono::seconds(5), [&] { loop.stop(); }); }); });
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
