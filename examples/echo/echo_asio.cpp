// ws-echo --io asio: standalone Asio, with --tls for wss://.
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>
#include <asio/ssl/context.hpp>
#include <chrono>
#include <cstdio>
#include <optional>

#include "common/asio_tls.hpp"
#include "common/http2_setup.hpp"
#include "common/shutdown_signal.hpp"
#include "common/tls_setup.hpp"
#include "echo/echo_backends.hpp"
#include "echo/echo_config.hpp"
#include "ws/asio/server.hpp"

namespace ws::examples {

int run_echo_asio(const EchoOptions& options) {
  ::asio::io_context io;
  std::optional<::asio::ssl::context> tls;
  ws::asio::ServerOptions server_options;
  if (options.http2) {
    // HTTP/2's sockets take TLS from ws::tls, whose ALPN picks the protocol.
    if (!make_server_tls(options, "ws-echo", server_options.stream.stream_layer)) return 1;
    if (!make_server_http2(options, "ws-echo", false, server_options.stream)) return 1;
  } else if (!make_asio_server_tls(options, "ws-echo", tls)) {
    return 1;
  }
  server_options.stream.config = echo_config(options);
  server_options.stream.keep_request = false;  // never looked at after the handshake
  server_options.stream.accept.subprotocols = options.subprotocols;
  server_options.stream.backpressure.high_water = 2 * options.max_message + 1024 * 1024;
  server_options.tls = tls ? &*tls : nullptr;
  ws::asio::ServerHandlers echo;
  echo.on_message = [](const std::shared_ptr<ws::asio::Session>& session, MessageKind kind,
                       std::string& payload) {
    if (kind == MessageKind::text) {
      (void)session->send_text(payload);
    } else {
      (void)session->send_binary(as_bytes(payload));
    }
  };
  ws::asio::Server server(io.get_executor(), server_options, echo);
  std::error_code error;
  // A numeric address, or "localhost" as the other I/O modes take it
  // (make_address does not resolve names).
  const ::asio::ip::address address = options.host == "localhost"
                                          ? ::asio::ip::address(::asio::ip::address_v4::loopback())
                                          : ::asio::ip::make_address(options.host, error);
  if (!error) error = server.listen({address, options.port});
  if (error) {
    std::fprintf(stderr, "ws-echo: cannot listen on %s: %s\n",
                 host_port(options.host, options.port).c_str(), error.message().c_str());
    return 1;
  }
  ShutdownSignal signal([&] {
    ::asio::post(io, [&] {
      server.async_shutdown(std::chrono::seconds(5), [&](std::error_code) { io.stop(); });
    });
  });
  std::printf("listening on %s\n", host_port(options.host, server.local_endpoint().port()).c_str());
  std::fflush(stdout);
  io.run();
  return 0;
}

}  // namespace ws::examples
