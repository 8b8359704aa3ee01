// ws-echo: an echo server for conformance tests and benchmarks.
#include <cstdio>
#include <string>
#include <vector>

#include "echo/echo_backends.hpp"

namespace {

constexpr const char* usage =
    "usage: ws-echo --port P [--host 127.0.0.1] [--io threads|epoll|asio]\n"
    "               [--max-message BYTES] [--tls CERT KEY]\n"
    "  Echoes every message (text as text, binary as binary) on any path.\n"
    "  --port 0 picks a free port; prints 'listening on HOST:PORT' when ready.\n"
    "  --io           I/O mode (default epoll)\n"
    "  --max-message  largest message accepted (default 16777216 bytes)\n"
    "  --tls          serve wss:// with this certificate and key (needs --io asio)\n";

int bad_arguments(const std::string& error) {
  std::fprintf(stderr, "ws-echo: %s\n%s", error.c_str(), usage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ws::examples;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  ServerOptions options;
  bool port_given = false;
  for (std::size_t i = 0; i < args.size();) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (args[i] == "--tls") {
      if (i + 2 >= args.size()) return bad_arguments("--tls needs CERT and KEY");
      options.tls_certificate = std::string(args[i + 1]);
      options.tls_key = std::string(args[i + 2]);
      i += 3;
      continue;
    }
    if (args[i] == "--port") port_given = true;
    bool used = false;
    std::string error;
    if (!parse_common_option(args, i, options, used, error)) return bad_arguments(error);
    if (!used) return bad_arguments("unknown argument '" + std::string(args[i]) + "'");
  }
  if (!port_given) return bad_arguments("--port is required");
  if (options.tls_certificate && options.io != Io::asio) {
    return bad_arguments("--tls needs --io asio");
  }
  switch (options.io) {
    case Io::threads:
      return run_echo_threads(options);
    case Io::epoll:
      return run_echo_epoll(options);
    case Io::asio:
      return run_echo_asio(options);
  }
  return 2;
}
