// ws-demo --io uring: the page, the channels and /echo on one io_uring
// loop. Where the kernel or a sandbox refuses io_uring it says so in one
// line and exits 1. The Redis backplane (--backplane) runs on a thread of
// its own, as in the threads mode.
#include <chrono>
#include <cstdio>

#include "common/shutdown_signal.hpp"
#include "common/tls_setup.hpp"
#include "demo/demo_backends.hpp"
#include "demo/demo_backplane.hpp"
#include "demo/demo_loop_handler.hpp"
#include "demo/demo_routes.hpp"
#include "ws/channels/registry.hpp"
#include "ws/uring/uring_loop.hpp"
#include "ws/uring/uring_server.hpp"

namespace ws::examples {

int run_demo_uring(const ServerOptions& options) {
  channels::Registry registry(demo_registry_options());
  uring::UringLoop loop;
  if (loop.creation_error()) {
    std::fprintf(stderr, "ws-demo: --io uring: %s\n", loop.creation_message().c_str());
    return 1;
  }
  DemoBackplane backplane;  // after the loop: destroyed first, once run() returned
  if (!join_backplane(registry, backplane)) return 1;
  uring::UringServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.config.limits.max_message_size = options.max_message;
  if (!make_server_tls(options, "ws-demo", server_options.stream_layer)) return 1;
  server_options.registry = &registry;
  server_options.join_path_channel = false;  // the name is decoded first
  const Handler handler = demo_loop_handler(registry);
  Result<uring::UringServer> server = uring::UringServer::listen(loop, server_options, handler);
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
