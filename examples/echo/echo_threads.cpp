// ws-echo --io threads: one thread per connection, on the library's
// ws::posix::ThreadServer (a bounded number of threads; past it, or when the
// system refuses one, a 503; a silent connection ends at the handshake
// timeout).
#include <chrono>
#include <cstdio>
#include <future>

#include "common/shutdown_signal.hpp"
#include "common/tls_setup.hpp"
#include "echo/echo_backends.hpp"
#include "echo/echo_config.hpp"
#include "ws/posix/blocking.hpp"
#include "ws/posix/thread_server.hpp"

namespace ws::examples {

int run_echo_threads(const EchoOptions& options) {
  // First, so that no thread started later takes SIGINT/SIGTERM.
  std::promise<void> signalled;
  ShutdownSignal signal([&] { signalled.set_value(); });

  posix::BlockingCallbacks echo;
  echo.message = [](const posix::BlockingSessionPtr& session, const Message& message) {
    if (message.kind == MessageKind::text) {
      (void)session->send_text(message.text());
    } else {
      (void)session->send_binary(message.payload);
    }
  };
  posix::ThreadServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.config = echo_config(options);
  server_options.keep_request = false;  // never looked at after the handshake
  server_options.accept.subprotocols = options.subprotocols;
  if (!make_server_tls(options, "ws-echo", server_options.stream_layer)) return 1;
  Result<posix::ThreadServer> server = posix::ThreadServer::listen(server_options, echo);
  if (!server) {
    std::fprintf(stderr, "ws-echo: cannot listen on %s: %s\n",
                 host_port(options.host, options.port).c_str(), server.error().message().c_str());
    return 1;
  }
  std::printf("listening on %s\n", host_port(options.host, server->port()).c_str());
  std::fflush(stdout);
  signalled.get_future().wait();
  (void)server->shutdown(std::chrono::seconds(5));  // 1001 to everyone
  return 0;
}

}  // namespace ws::examples
