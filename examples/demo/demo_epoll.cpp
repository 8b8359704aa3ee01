// ws-demo --io epoll: the page, the channels and /echo on one epoll loop.
#include <chrono>
#include <cstdio>

#include "common/shutdown_signal.hpp"
#include "common/tls_setup.hpp"
#include "demo/demo_backends.hpp"
#include "demo/demo_backplane.hpp"
#include "demo/demo_routes.hpp"
#include "ws/channels/registry.hpp"
#include "ws/posix/epoll_loop.hpp"
#include "ws/posix/epoll_server.hpp"

namespace ws::examples {

int run_demo_epoll(const ServerOptions& options) {
  channels::Registry registry;
  posix::EpollLoop loop;
  DemoBackplane backplane;  // after the loop: destroyed first, once run() returned
  if (!join_backplane(loop, registry, backplane)) return 1;
  posix::EpollServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.config.limits.max_message_size = options.max_message;
  if (!make_server_tls(options, "ws-demo", server_options.stream_layer)) return 1;
  server_options.registry = &registry;
  server_options.join_path_channel = false;  // the name is decoded first
  server_options.on_http = [](const HttpHead& head) {
    DemoHttpAnswer answer = answer_plain_http(head.method, head.target);
    return posix::HttpAnswer{answer.status, std::move(answer.body), std::move(answer.headers)};
  };
  server_options.on_upgrade = [](const UpgradeRequest& request) {
    DemoRoute route = route_upgrade(request.target);
    if (route.kind == DemoRoute::Kind::refused) {
      return posix::UpgradeDecision::reject(route.refusal.status, std::move(route.refusal.body),
                                            std::move(route.refusal.headers));
    }
    return posix::UpgradeDecision::accept_with();
  };
  posix::EpollHandler handler;
  handler.on_open = [&registry](const posix::EpollSessionPtr& session) {
    const DemoRoute route = route_upgrade(session->request()->target);
    // A member from the moment its handshake completes.
    if (route.kind == DemoRoute::Kind::channel) registry.join(route.channel, session);
  };
  handler.on_message = [&registry](const posix::EpollSessionPtr& session, const Message& message) {
    const DemoRoute route = route_upgrade(session->request()->target);
    if (route.kind == DemoRoute::Kind::channel) {
      // Published unchanged to every member, the sender included.
      publish_from_member(registry, route.channel, message.kind, message.payload,
                          [&](std::string_view notice) { (void)session->send_text(notice); });
    } else if (message.kind == MessageKind::text) {
      (void)session->send_text(message.text());
    } else {
      (void)session->send_binary(message.payload);
    }
  };
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
