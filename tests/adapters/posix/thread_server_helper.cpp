// A ThreadServer in a process of its own, for thread_exhaustion_test.cpp:
// the tests run it under small resource limits (prlimit, setpriv) that must
// not touch the test process. It echoes WebSocket messages on any path and
// answers a plain "GET /stats" with its counters, one "name=value" a line.
// Prints "port N" once listening; shuts down and exits 0 when its standard
// input ends.
//
//   ws_thread_server_helper [--handshake-ms N] [--max-threads N] [--io epoll|uring]
//
// With --io epoll (or uring) it serves the same echo with an EpollServer
// (or UringServer) instead (no /stats), for the descriptor-exhaustion test
// of that transport.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <thread>

#include "ws/posix/epoll_loop.hpp"
#include "ws/posix/epoll_server.hpp"
#include "ws/posix/thread_server.hpp"
#if WS_HELPER_URING
#include "ws/uring/uring_loop.hpp"
#include "ws/uring/uring_server.hpp"
#endif

namespace {

std::string stats_text(const ws::posix::ThreadServerStats& stats) {
  std::string text;
  const auto line = [&text](std::string_view name, unsigned long long value) {
    text.append(name).append("=").append(std::to_string(value)).append("\n");
  };
  line("accepted", stats.accepted);
  line("live_threads", stats.live_threads);
  line("refused_threads", stats.refused_threads);
  line("thread_failures", stats.thread_failures);
  line("accept_backoffs", stats.accept_backoffs);
  line("handler_exceptions", stats.handler_exceptions);
  return text;
}

// --io epoll (or uring): the same echo on an EpollServer (or UringServer),
// until standard input ends.
template <class Loop, class Server, class Options>
int run_loop(ws::Duration handshake_timeout) {
  Loop loop;
  Options options;
  options.config.timeouts.handshake_timeout = handshake_timeout;
  ws::Handler echo;
  echo.on_message = [](const ws::SessionPtr& session, const ws::Message& message) {
    if (message.kind == ws::MessageKind::text) {
      (void)session->send_text(message.text());
    } else {
      (void)session->send_binary(message.payload);
    }
  };
  ws::Result<Server> server = Server::listen(loop, options, echo);
  if (!server) {
    std::fprintf(stderr, "listen: %s\n", server.error().message().c_str());
    return 1;
  }
  std::printf("port %u\n", static_cast<unsigned>(server->port()));
  std::fflush(stdout);
  std::thread stopper([&loop] {
    char byte = 0;
    while (::read(STDIN_FILENO, &byte, 1) > 0) {
    }
    loop.stop();
  });
  (void)loop.run();
  stopper.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ws::posix::ThreadServerOptions options;
  std::string_view io = "threads";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const long value = std::strtol(argv[i + 1], nullptr, 10);
    if (flag == "--io") {
      io = argv[i + 1];
    } else if (flag == "--handshake-ms") {
      options.config.timeouts.handshake_timeout = std::chrono::milliseconds(value);
    } else if (flag == "--max-threads") {
      options.max_threads = static_cast<std::size_t>(value);
    } else {
      std::fprintf(stderr, "usage: %s [--handshake-ms N] [--max-threads N] [--io epoll|uring]\n",
                   argv[0]);
      return 2;
    }
  }
  if (io == "epoll") {
    return run_loop<ws::posix::EpollLoop, ws::posix::EpollServer, ws::posix::EpollServerOptions>(
        options.config.timeouts.handshake_timeout);
  }
#if WS_HELPER_URING
  if (io == "uring") {
    return run_loop<ws::uring::UringLoop, ws::uring::UringServer, ws::uring::UringServerOptions>(
        options.config.timeouts.handshake_timeout);
  }
#endif
  if (io != "threads") {
    std::fprintf(stderr, "--io %.*s is not in this build\n", static_cast<int>(io.size()),
                 io.data());
    return 2;
  }
  ws::posix::BlockingCallbacks echo;
  echo.message = [](const ws::posix::BlockingSessionPtr& session, const ws::Message& message) {
    if (message.kind == ws::MessageKind::text) {
      (void)session->send_text(message.text());
    } else {
      (void)session->send_binary(message.payload);
    }
  };
  // Set once the server exists (the accept thread starts in listen()).
  std::atomic<const ws::posix::ThreadServer*> running{nullptr};
  options.on_http = [&running](const ws::HttpHead& head) {
    const ws::posix::ThreadServer* server = running.load();
    if (head.target != "/stats" || server == nullptr) return ws::HttpAnswer{404, "no\n", {}};
    return ws::HttpAnswer{200, stats_text(server->stats()), {}};
  };
  ws::Result<ws::posix::ThreadServer> server = ws::posix::ThreadServer::listen(options, echo);
  if (!server) {
    std::fprintf(stderr, "listen: %s\n", server.error().message().c_str());
    return 1;
  }
  running.store(&*server);
  std::printf("port %u\n", static_cast<unsigned>(server->port()));
  std::fflush(stdout);
  char byte = 0;
  while (::read(STDIN_FILENO, &byte, 1) > 0) {
  }
  (void)server->shutdown(std::chrono::seconds(1));
  return 0;
}
