// ws-demo --io epoll: the page, the channels and /echo on one epoll loop.
#include <chrono>
#include <cstdio>

#include "common/http2_setup.hpp"
#include "common/shutdown_signal.hpp"
#include "common/tls_setup.hpp"
#include "demo/demo_backends.hpp"
#include "demo/demo_backplane.hpp"
#include "demo/demo_loop_handler.hpp"
#include "demo/demo_routes.hpp"
#include "ws/channels/registry.hpp"
#include "ws/posix/epoll_loop.hpp"
#include "ws/posix/epoll_server.hpp"

namespace ws::examples {

int run_demo_epoll(const ServerOptions& options) {
  channels::Registry registry(demo_registry_options());
  posix::EpollLoop loop;
  DemoBackplane backplane;  // after the loop: destroyed first, once run() returned
  if (!join_backplane(loop, registry, backplane)) return 1;
  posix::EpollServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.config.limits.max_message_size = options.max_message;
  if (!make_server_tls(options, "ws-demo", server_options.stream_layer)) return 1;
  // --http2: one line per request stream, so a test can tell which of the
  // page's WebSockets came as extended CONNECTs on which connection.
  if (!make_server_http2(options, "ws-demo", true, server_options)) return 1;
  server_options.registry = &registry;
  server_options.join_path_channel = false;  // the name is decoded first
  const Handler handler = demo_loop_handler(registry);
  Result<posix::EpollServer> server =
      posix::EpollServer::listen(loop, std::move(server_options), handler);
  if (!server) {
    std::fprintf(stderr, "ws-demo: cannot listen on %s: %s\n",
                 host_port(options.host, options.port).c_str(), server.error().message().c_str());
    return 1;
  }
  ShutdownSignal signal(
      [&] { loop.post([&] { server->shutdown(std::chrono::seconds(5), [&] { loop.stop(); }); }); });
  std::printf("%s://%s/\n", options.tls_certificate ? "https" : "http",
              host_port(options.host, server->port()).c_str());
  std::fflush(stdout);
  const std::error_code error = loop.run();
  if (error) {
    std::fprintf(stderr, "ws-demo: %s\n", error.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace ws::examples
