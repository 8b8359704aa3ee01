// ws-demo --io threads: the original application's shape. Each connection
// gets a thread running handle_request_routine, which reads the request
// head itself, answers plain HTTP, and hands upgrades to ws on that thread.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "common/shutdown_signal.hpp"
#include "demo/demo_backends.hpp"
#include "demo/demo_backplane.hpp"
#include "demo/demo_routes.hpp"
#include "ws/channels/registry.hpp"
#include "ws/handshake/http_head_parser.hpp"
#include "ws/posix/blocking.hpp"
#include "ws/posix/socket.hpp"

namespace ws::examples {

namespace {

struct DemoServer {
  channels::Registry registry;
  posix::BlockingConnectionSet connections;
  posix::BlockingOptions blocking;
};

void write_answer(int fd, const DemoHttpAnswer& answer) {
  Result<std::string> response =
      build_rejection_response(answer.status, answer.body, answer.headers);
  if (response) (void)posix::write_all(fd, response->data(), response->size());
}

void handle_request_routine(posix::FileDescriptor socket, DemoServer& server) {
  const int fd = socket.get();
  // Read the head as the application always did; keep every byte read.
  HttpHeadParser parser(HttpHeadKind::request);
  std::string received;
  std::size_t head_size = 0;
  char chunk[4096];
  while (parser.state() == HttpParseState::need_more) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return;
    received.append(chunk, static_cast<std::size_t>(n));
    head_size += parser.feed(std::string_view(chunk, static_cast<std::size_t>(n))).consumed;
  }
  if (parser.state() == HttpParseState::error) {
    const std::string response = build_error_response(parser.error());
    (void)posix::write_all(fd, response.data(), response.size());
    return;
  }
  const HttpHead& head = parser.head();
  if (!is_upgrade(head)) {
    write_answer(fd, answer_plain_http(head.method, head.target));
    return;
  }
  const DemoRoute route = route_upgrade(head.target);
  if (route.kind == DemoRoute::Kind::refused) {
    write_answer(fd, route.refusal);  // 400 before any upgrade
    return;
  }
  // The bytes read past the head are the first frame bytes, not a body.
  const std::string_view head_text = std::string_view(received).substr(0, head_size);
  const ByteView after_head = as_bytes(std::string_view(received).substr(head_size));
  posix::BlockingCallbacks handler;
  handler.open = [&](const posix::BlockingSessionPtr& session) {
    if (route.kind == DemoRoute::Kind::channel) server.registry.join(route.channel, session);
  };
  handler.message = [&](const posix::BlockingSessionPtr& session, const Message& message) {
    if (route.kind == DemoRoute::Kind::channel) {
      publish_from_member(server.registry, route.channel, message.kind, message.payload,
                          [&](std::string_view notice) { (void)session->send_text(notice); });
    } else if (message.kind == MessageKind::text) {
      (void)session->send_text(message.text());
    } else {
      (void)session->send_binary(message.payload);
    }
  };
  handler.close = [](const posix::BlockingSessionPtr&, const Closed&) {};
  (void)posix::serve_upgraded(fd, head_text, after_head, handler, server.blocking);
}

}  // namespace

int run_demo_threads(const ServerOptions& options) {
  DemoServer server;
  // One backplane thread for the process; destroyed first, while connection
  // threads may still publish (they then publish in-process).
  DemoBackplane backplane;
  if (!join_backplane(server.registry, backplane)) return 1;
  server.blocking.config.limits.max_message_size = options.max_message;
  server.blocking.registry = &server.registry;
  server.blocking.connections = &server.connections;
  Result<posix::FileDescriptor> listener = posix::listen_tcp(options.host, options.port, 4096);
  if (!listener) {
    std::fprintf(stderr, "ws-demo: cannot listen on %s: %s\n",
                 host_port(options.host, options.port).c_str(), listener.error().message().c_str());
    return 1;
  }
  const int listen_fd = listener->get();
  std::atomic<bool> stopping{false};
  ShutdownSignal signal([&] {
    stopping = true;
    ::shutdown(listen_fd, SHUT_RDWR);
  });
  std::printf("http://%s/\n", host_port(options.host, posix::local_port(listen_fd)).c_str());
  std::fflush(stdout);
  while (!stopping) {
    Result<posix::FileDescriptor> accepted = posix::accept_tcp(listen_fd);
    if (!accepted) continue;
    std::thread(handle_request_routine, std::move(*accepted), std::ref(server)).detach();
  }
  server.connections.close_all(std::chrono::seconds(5));
  return 0;
}

}  // namespace ws::examples
