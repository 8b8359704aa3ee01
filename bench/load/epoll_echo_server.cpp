// ws-epoll-echo: a WebSocket echo server on one EpollLoop, the target of
// ws-load. Prints "listening on HOST:PORT" once it listens; on SIGINT or
// SIGTERM it closes every connection with 1001 (graceful shutdown) and exits.
//
//   ws-epoll-echo [--host 127.0.0.1] [--port 0]
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

#include "ws/posix/epoll_loop.hpp"
#include "ws/posix/epoll_server.hpp"

namespace {

// The load test needs a descriptor per connection: use the whole hard limit.
void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int usage() {
  std::fprintf(stderr, "usage: ws-epoll-echo [--host ADDRESS] [--port PORT]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ws::posix::EpollServerOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return usage();
    if (arg == "--host") {
      options.host = argv[++i];
    } else if (arg == "--port") {
      options.port = static_cast<std::uint16_t>(std::strtoul(argv[++i], nullptr, 10));
    } else {
      return usage();
    }
  }
  raise_open_file_limit();

  // SIGINT/SIGTERM are taken by a thread with sigwait, so the loop never
  // sees them and nothing runs in a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ws::posix::EpollLoop loop;
  ws::posix::EpollHandler echo;
  echo.on_message = [](const ws::posix::EpollSessionPtr& session, const ws::Message& message) {
    if (message.kind == ws::MessageKind::text) {
      session->send_text(message.text());
    } else {
      session->send_binary(message.payload);
    }
  };
  ws::Result<ws::posix::EpollServer> server =
      ws::posix::EpollServer::listen(loop, options, std::move(echo));
  if (!server) {
    std::fprintf(stderr, "ws-epoll-echo: cannot listen: %s\n", server.error().message().c_str());
    return 1;
  }
  std::printf("listening on %s:%u\n", options.host.c_str(), static_cast<unsigned>(server->port()));
  std::fflush(stdout);

  std::thread signal_waiter([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    server->shutdown(std::chrono::seconds(5), [&] { loop.stop(); });
  });
  const std::error_code error = loop.run();
  if (error) {
    std::fprintf(stderr, "ws-epoll-echo: %s\n", error.message().c_str());
    std::_Exit(1);  // the signal thread still waits
  }
  signal_waiter.join();
  return 0;
}
