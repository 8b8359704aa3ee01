// ws-demo --io threads: one thread per connection, on the library's
// ws::posix::ThreadServer. The page is answered on the connection's thread
// (ThreadServerOptions::on_http), upgrades go to the channels or /echo.
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <utility>

#include "common/shutdown_signal.hpp"
#include "common/tls_setup.hpp"
#include "demo/demo_backends.hpp"
#include "demo/demo_backplane.hpp"
#include "demo/demo_routes.hpp"
#include "ws/channels/registry.hpp"
#include "ws/posix/blocking.hpp"
#include "ws/posix/thread_server.hpp"

namespace ws::examples {

int run_demo_threads(const ServerOptions& options) {
  // First, so that no thread started later takes SIGINT/SIGTERM.
  std::promise<void> signalled;
  ShutdownSignal signal([&] { signalled.set_value(); });

  channels::Registry registry(demo_registry_options());
  // One backplane thread for the process; destroyed after the server, whose
  // connection threads publish through it.
  DemoBackplane backplane;
  if (!join_backplane(registry, backplane)) return 1;

  // Called on each connection's thread, several at once.
  posix::BlockingCallbacks handler;
  handler.upgrade = [](const UpgradeRequest& request, const AcceptOptions& defaults) {
    DemoRoute route = route_upgrade(request.target);
    if (route.kind == DemoRoute::Kind::refused) {  // 400 before any upgrade
      return UpgradeDecision::reject(route.refusal.status, std::move(route.refusal.body),
                                     std::move(route.refusal.headers));
    }
    return UpgradeDecision::accept_with(demo_accept_options(defaults));
  };
  handler.open = [&registry](const posix::BlockingSessionPtr& session) {
    const DemoRoute route = route_upgrade(session->request()->target);
    if (route.kind == DemoRoute::Kind::channel) join_channel(registry, route, session);
  };
  handler.message = [&registry](const posix::BlockingSessionPtr& session, const Message& message) {
    const DemoRoute route = route_upgrade(session->request()->target);
    if (route.kind == DemoRoute::Kind::channel) {
      publish_from_member(registry, route.channel, message.kind, message.payload,
                          [&](std::string_view notice) { (void)session->send_text(notice); });
    } else if (message.kind == MessageKind::text) {
      (void)session->send_text(message.text());
    } else {
      (void)session->send_binary(message.payload);
    }
  };

  posix::ThreadServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.config.limits.max_message_size = options.max_message;
  server_options.registry = &registry;  // a session leaves its channels when it ends
  if (!make_server_tls(options, "ws-demo", server_options.stream_layer)) return 1;
  server_options.on_http = [](const HttpHead& head) {
    DemoHttpAnswer answer = answer_plain_http(head.method, head.target);
    return HttpAnswer{answer.status, std::move(answer.body), std::move(answer.headers)};
  };
  Result<posix::ThreadServer> server = posix::ThreadServer::listen(server_options, handler);
  if (!server) {
    std::fprintf(stderr, "ws-demo: cannot listen on %s: %s\n",
                 host_port(options.host, options.port).c_str(), server.error().message().c_str());
    return 1;
  }
  std::printf("%s://%s/\n", options.tls_certificate ? "https" : "http",
              host_port(options.host, server->port()).c_str());
  std::fflush(stdout);
  signalled.get_future().wait();
  (void)server->shutdown(std::chrono::seconds(5));  // 1001 to everyone
  return 0;
}

}  // namespace ws::examples
