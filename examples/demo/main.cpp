// ws-demo: one port serves a page and WebSocket channels from one request
// routine, as in the application ws was started for. Open the printed URL
// in two tabs, join the same channel and chat; another channel hears nothing.
#include <cstdio>
#include <string>
#include <vector>

#include "demo/demo_backends.hpp"
#include "demo/demo_backplane.hpp"

namespace {

constexpr const char* usage =
    "usage: ws-demo [--port 8080] [--host 127.0.0.1] [--io threads|epoll|uring|asio]\n"
    "               [--tls CERT KEY] [--http2] [--backplane redis://HOST:PORT]\n"
    "  GET /               the page: pick a channel, see its messages, send messages\n"
    "  /channel/<name>     WebSocket: every message a member sends goes to every member\n"
    "                      (subprotocol ws.resume.v1: JSON envelopes with positions, and\n"
    "                      ?since=POS resumes without loss; docs/resume.md)\n"
    "  /echo               WebSocket: echoes\n"
    "  --port 0 picks a free port; the page's URL is printed when ready.\n"
    "  --tls serves the page over https and the WebSockets as wss:// with this\n"
    "  certificate (PEM chain) and key.\n"
    "  --http2 also serves HTTP/2 (--io epoll|asio): a browser then opens the page's\n"
    "  WebSockets as streams of the page's own connection (RFC 8441); ALPN h2\n"
    "  with --tls, prior knowledge (h2c) without. One line per request stream:\n"
    "  'http2: connection=N stream=S method=M protocol=P path=/...'.\n"
    "  --backplane shares the channels with other ws-demo nodes through Redis.\n";

int bad_arguments(const std::string& error) {
  std::fprintf(stderr, "ws-demo: %s\n%s", error.c_str(), usage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ws::examples;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  ServerOptions options;
  options.port = 8080;
  for (std::size_t i = 0; i < args.size();) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    bool used = false;
    std::string error;
    if (!parse_common_option(args, i, options, used, error)) return bad_arguments(error);
    if (!used && !parse_backplane_option(args, i, used, error)) return bad_arguments(error);
    if (!used) return bad_arguments("unknown argument '" + std::string(args[i]) + "'");
  }
  if (options.http2 && options.io != Io::epoll && options.io != Io::asio) {
    return bad_arguments("--http2 is served by --io epoll and --io asio");
  }
  switch (options.io) {
    case Io::threads:
      return run_demo_threads(options);
    case Io::epoll:
      return run_demo_epoll(options);
    case Io::uring:
      return run_demo_uring(options);
    case Io::asio:
      return run_demo_asio(options);
  }
  return 2;
}
