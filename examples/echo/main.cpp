// ws-echo: an echo server for conformance tests and benchmarks.
#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

// The same --memory-report as the benchmark peers (beast-echo,
// websocketpp-echo), from bench/peers: scripts/bench reads all three alike.
#include "../../bench/peers/memory_report.hpp"
#include "echo/echo_backends.hpp"

namespace {

constexpr const char* usage =
    "usage: ws-echo --port P [--host 127.0.0.1] [--io threads|epoll|uring|asio]\n"
    "               [--max-message BYTES] [--fragment BYTES] [--tls CERT KEY]\n"
    "               [--http2] [--subprotocol NAME]... [--deflate] [--zero-copy]\n"
    "               [--memory-report]\n"
    "  Echoes every message (text as text, binary as binary) on any path.\n"
    "  --port 0 picks a free port; prints 'listening on HOST:PORT' when ready.\n"
    "  --io           I/O mode (default epoll)\n"
    "  --max-message  largest message accepted (default 16777216 bytes)\n"
    "  --fragment     send echoes in frames of at most BYTES payload bytes\n"
    "                 (default 0: one frame per message)\n"
    "  --tls          serve wss:// with this certificate (PEM chain) and key\n"
    "  --http2        also serve HTTP/2 (RFC 8441 WebSockets as streams): by ALPN\n"
    "                 with --tls, by prior knowledge (h2c) without; --io epoll|asio\n"
    "  --subprotocol  accept this subprotocol when a client offers it (repeatable;\n"
    "                 the first given that the client offered is chosen)\n"
    "  --deflate      accept permessage-deflate (RFC 7692) when a client offers it\n"
    "  --zero-copy    --io uring: zero-copy sends (off by default; on loopback the\n"
    "                 kernel copies anyway). With --io uring, each SIGUSR1 prints\n"
    "                 'uring: enter_calls=N submissions=M completions=K'\n"
    "  --memory-report\n"
    "                 on each SIGUSR2, print 'memory: heap_in_use=BYTES mmapped=BYTES\n"
    "                 rss_kib=KIB' (mallinfo2, VmRSS; scripts/bench reads it)\n";

int bad_arguments(const std::string& error) {
  std::fprintf(stderr, "ws-echo: %s\n%s", error.c_str(), usage);
  return 2;
}

bool parse_size(std::string_view text, std::size_t& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc{} && end == text.data() + text.size();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ws::examples;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  EchoOptions options;
  bool port_given = false;
  bool memory_report = false;
  for (std::size_t i = 0; i < args.size();) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (args[i] == "--fragment") {
      if (i + 1 >= args.size() || !parse_size(args[i + 1], options.fragment_size) ||
          options.fragment_size == 0) {
        return bad_arguments("--fragment takes a positive number of bytes");
      }
      i += 2;
      continue;
    }
    if (args[i] == "--subprotocol") {
      if (i + 1 >= args.size() || args[i + 1].empty()) {
        return bad_arguments("--subprotocol takes a name");
      }
      options.subprotocols.emplace_back(args[i + 1]);
      i += 2;
      continue;
    }
    if (args[i] == "--zero-copy") {
      options.zero_copy = true;
      ++i;
      continue;
    }
    if (args[i] == "--memory-report") {
      memory_report = true;
      ++i;
      continue;
    }
    if (args[i] == "--deflate") {
#if WS_HAVE_DEFLATE
      options.deflate = true;
      ++i;
      continue;
#else
      return bad_arguments("--deflate: built without zlib");
#endif
    }
    if (args[i] == "--port") port_given = true;
    bool used = false;
    std::string error;
    if (!parse_common_option(args, i, options, used, error)) return bad_arguments(error);
    if (!used) return bad_arguments("unknown argument '" + std::string(args[i]) + "'");
  }
  if (!port_given) return bad_arguments("--port is required");
  if (options.http2 && options.io != Io::epoll && options.io != Io::asio) {
    return bad_arguments("--http2 is served by --io epoll and --io asio");
  }
  if (options.zero_copy && options.io != Io::uring) {
    return bad_arguments("--zero-copy needs --io uring");
  }
  // Before any I/O mode starts a thread: SIGUSR2 stays blocked in all of them.
  std::optional<ws_bench::MemoryReport> report;
  if (memory_report) report.emplace();
  switch (options.io) {
    case Io::threads:
      return run_echo_threads(options);
    case Io::epoll:
      return run_echo_epoll(options);
    case Io::uring:
      return run_echo_uring(options);
    case Io::asio:
      return run_echo_asio(options);
  }
  return 2;
}
