// ws-echo --io threads: one thread per connection (ws::posix blocking).
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "common/shutdown_signal.hpp"
#include "echo/echo_backends.hpp"
#include "echo/echo_config.hpp"
#include "ws/posix/blocking.hpp"
#include "ws/posix/socket.hpp"

namespace ws::examples {

int run_echo_threads(const EchoOptions& options) {
  posix::BlockingConnectionSet connections;
  std::atomic<bool> stopping{false};
  Result<posix::FileDescriptor> listener = posix::listen_tcp(options.host, options.port, 4096);
  if (!listener) {
    std::fprintf(stderr, "ws-echo: cannot listen on %s: %s\n",
                 host_port(options.host, options.port).c_str(), listener.error().message().c_str());
    return 1;
  }
  const int listen_fd = listener->get();
  ShutdownSignal signal([&] {
    stopping = true;
    ::shutdown(listen_fd, SHUT_RDWR);  // wakes accept()
  });
  std::printf("listening on %s\n", host_port(options.host, posix::local_port(listen_fd)).c_str());
  std::fflush(stdout);

  posix::BlockingCallbacks echo;
  echo.message = [](const posix::BlockingSessionPtr& session, const Message& message) {
    if (message.kind == MessageKind::text) {
      (void)session->send_text(message.text());
    } else {
      (void)session->send_binary(message.payload);
    }
  };
  echo.open = [](const posix::BlockingSessionPtr&) {};
  echo.close = [](const posix::BlockingSessionPtr&, const Closed&) {};
  posix::BlockingOptions blocking;
  blocking.config = echo_config(options);
  blocking.connections = &connections;

  while (!stopping) {
    Result<posix::FileDescriptor> accepted = posix::accept_tcp(listen_fd);
    if (!accepted) continue;
    std::thread([fd = std::move(*accepted), &echo, &blocking]() mutable {
      (void)posix::serve(fd.get(), echo, blocking);
    }).detach();
  }
  connections.close_all(std::chrono::seconds(5));
  return 0;
}

}  // namespace ws::examples
