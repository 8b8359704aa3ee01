// ws-demo --io asio: the page, the channels and /echo on one Asio
// io_context, run by this thread.
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/asio_tls.hpp"
#include "common/http2_setup.hpp"
#include "common/shutdown_signal.hpp"
#include "common/tls_setup.hpp"
#include "demo/demo_backends.hpp"
#include "demo/demo_backplane.hpp"
#include "demo/demo_routes.hpp"
#include "ws/asio/server.hpp"
#include "ws/channels/registry.hpp"

namespace ws::examples {

namespace {

// Where each open connection goes; the Server's handlers get the request
// on open only.
class RouteTable {
 public:
  void add(const asio::Session* session, DemoRoute route) {
    std::lock_guard lock(mutex_);
    routes_[session] = std::move(route);
  }
  DemoRoute find(const asio::Session* session) const {
    std::lock_guard lock(mutex_);
    const auto found = routes_.find(session);
    return found == routes_.end() ? DemoRoute{} : found->second;
  }
  void remove(const asio::Session* session) {
    std::lock_guard lock(mutex_);
    routes_.erase(session);
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<const asio::Session*, DemoRoute> routes_;
};

}  // namespace

int run_demo_asio(const ServerOptions& options) {
  ::asio::io_context io;
  channels::Registry registry(demo_registry_options());
  RouteTable routes;
  DemoBackplane backplane;  // after io and registry: destroyed first, once io stopped
  if (!join_backplane(io, registry, backplane)) return 1;
  std::optional<::asio::ssl::context> tls;
  asio::ServerOptions server_options;
  if (options.http2) {
    // HTTP/2's sockets take TLS from ws::tls, whose ALPN picks the protocol.
    if (!make_server_tls(options, "ws-demo", server_options.stream.stream_layer)) return 1;
    if (!make_server_http2(options, "ws-demo", true, server_options.stream)) return 1;
  } else if (!make_asio_server_tls(options, "ws-demo", tls)) {
    return 1;
  }
  server_options.tls = tls ? &*tls : nullptr;  // https and wss://
  server_options.stream.config.limits.max_message_size = options.max_message;
  server_options.stream.registry = &registry;
  server_options.http = [](const HttpHead& head) {
    DemoHttpAnswer answer = answer_plain_http(head.method, head.target);
    return asio::HttpAnswer{answer.status, std::move(answer.body), std::move(answer.headers)};
  };
  server_options.accept = [](const UpgradeRequest& request) {
    DemoRoute route = route_upgrade(request.target);
    if (route.kind == DemoRoute::Kind::refused) {
      asio::AcceptDecision refusal =
          asio::AcceptDecision::reject(route.refusal.status, std::move(route.refusal.body));
      refusal.headers = std::move(route.refusal.headers);
      return refusal;  // 400 before any upgrade
    }
    return asio::AcceptDecision::accept_with(demo_accept_options());
  };
  asio::ServerHandlers handlers;
  handlers.on_open = [&](const std::shared_ptr<asio::Session>& session,
                         const UpgradeRequest& request) {
    DemoRoute route = route_upgrade(request.target);
    // A member from the moment its handshake completes.
    if (route.kind == DemoRoute::Kind::channel) join_channel(registry, route, session);
    routes.add(session.get(), std::move(route));
  };
  handlers.on_message = [&](const std::shared_ptr<asio::Session>& session, MessageKind kind,
                            std::string& payload) {
    const DemoRoute route = routes.find(session.get());
    if (route.kind == DemoRoute::Kind::channel) {
      // Published unchanged to every member, the sender included.
      publish_from_member(registry, route.channel, kind, as_bytes(payload),
                          [&](std::string_view notice) { (void)session->send_text(notice); });
    } else if (kind == MessageKind::text) {
      (void)session->send_text(payload);
    } else {
      (void)session->send_binary(as_bytes(payload));
    }
  };
  handlers.on_close = [&](const std::shared_ptr<asio::Session>& session, const asio::CloseInfo&) {
    routes.remove(session.get());  // the adapter leaves the channels
  };
  asio::Server server(io.get_executor(), server_options, handlers);
  std::error_code error;
  // A numeric address, or "localhost" as the other I/O modes take it.
  const ::asio::ip::address address = options.host == "localhost"
                                          ? ::asio::ip::address(::asio::ip::address_v4::loopback())
                                          : ::asio::ip::make_address(options.host, error);
  if (!error) error = server.listen({address, options.port});
  if (error) {
    std::fprintf(stderr, "ws-demo: cannot listen on %s: %s\n",
                 host_port(options.host, options.port).c_str(), error.message().c_str());
    return 1;
  }
  ShutdownSignal signal([&] {
    ::asio::post(io, [&] {
      server.async_shutdown(std::chrono::seconds(5), [&](std::error_code) { io.stop(); });
    });
  });
  std::printf("%s://%s/\n", options.tls_certificate ? "https" : "http",
              host_port(options.host, server.local_endpoint().port()).c_str());
  std::fflush(stdout);
  io.run();
  return 0;
}

}  // namespace ws::examples
