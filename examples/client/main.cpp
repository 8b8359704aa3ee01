// ws-client: a command-line WebSocket client, in the manner of websocat.
// Each line of standard input goes out as a text message; received messages
// are printed on standard output (text as is, binary as one line of hex).
#include <charconv>
#include <cstdio>
#include <functional>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy_choice.hpp"
#include "resilience.hpp"
#include "ws/posix/blocking.hpp"
#include "ws/posix/epoll_client.hpp"
#include "ws/posix/epoll_loop.hpp"
#include "ws/tls/layer.hpp"
#if WS_HAVE_DEFLATE
#include "ws/deflate/deflate.hpp"
#endif
#if WS_CLIENT_HAVE_HTTP2
#include "ws/http2/client.hpp"
#endif

namespace {

constexpr const char* usage =
    "usage: ws-client [OPTIONS] URL\n"
    "  Sends each line of standard input as a text message and prints each\n"
    "  received message: text as it is, binary as one line of lowercase hex.\n"
    "  At end of input it closes with 1000 and waits for the reply.\n"
    "options (before or after URL):\n"
    "  --subprotocol S    offer subprotocol S (repeatable)\n"
    "  --header 'K: V'    send an extra request header (repeatable)\n"
    "  --max-message N    largest message accepted (default 16777216 bytes)\n"
    "  --insecure         accept any certificate for wss://\n"
    "  --ca FILE          trust the certificates in FILE for wss://\n"
    "  --autobahn         run the Autobahn client cases against the fuzzing server at URL\n"
    "  --deflate          offer permessage-deflate (RFC 7692)\n"
    "  --io MODE          threads (default), epoll, uring or asio; wss:// in every mode\n"
    "  --http2            open the WebSocket as a stream of an HTTP/2 connection\n"
    "                     (RFC 8441): ALPN h2 for wss://, prior knowledge (h2c) for\n"
    "                     ws://; runs on --io epoll\n"
    "  --proxy URL        connect through the proxy at URL: http://[user:pass@]host:port\n"
    "                     (HTTP CONNECT), socks5:// or socks5h://[user:pass@]host:port.\n"
    "                     Without it: ws:// uses http_proxy, wss://\n"
    "                     https_proxy, either falls back to all_proxy (lower case, then\n"
    "                     upper case), except for the hosts no_proxy lists\n"
    "  --no-proxy         ignore the proxy environment variables\n"
    "  --max-redirects N  follow at most N redirects (301, 302, 303, 307, 308) in a\n"
    "                     row (default 5; 0 never); never from wss:// to ws://;\n"
    "                     Authorization and Cookie are dropped for another origin\n"
    "  --reconnect        connect again after a lost connection, a restart (1001,\n"
    "                     1011-1014) or a refused connect, with a growing random\n"
    "                     delay (0.25 s doubling to 30 s); one line per attempt on\n"
    "                     standard error; input lines not yet sent wait for the\n"
    "                     next connection (not with --http2, --autobahn)\n"
    "exit status: 0 after a close handshake with 1000 or 1001, 1 otherwise, 2 on bad arguments\n";

struct ClientArguments {
  std::string url;
  std::vector<std::string> subprotocols;
  std::vector<ws::HeaderField> headers;
  std::uint64_t max_message = 16 * 1024 * 1024;
  bool insecure = false;
  std::string ca_file;
  bool autobahn = false;
  bool deflate = false;
  bool http2 = false;
  std::string io = "threads";
  bool io_given = false;
  std::string proxy_url;  // --proxy
  bool no_proxy = false;  // --no-proxy
  // Through a proxy (--proxy or the environment); null: direct.
  std::shared_ptr<const ws::ClientRoute> route;
  // --max-redirects, --reconnect (examples/client/resilience.hpp).
  ws_client::ResilienceArguments resilience;
  bool max_redirects_given = false;
  // wss://: the TLS layer (ws::tls, every mode), made once.
  std::shared_ptr<const ws::StreamLayerFactory> tls;
};

int bad_arguments(const std::string& error) {
  std::fprintf(stderr, "ws-client: %s\n%s", error.c_str(), usage);
  return 2;
}

// Returns 0 when parsed, 2 (after printing why) otherwise.
int parse(int argc, char** argv, ClientArguments& out) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const auto value = [&](std::string_view& into) {
      if (i + 1 >= args.size()) return false;
      into = args[++i];
      return true;
    };
    std::string_view v;
    if (arg == "--subprotocol") {
      if (!value(v) || v.empty()) return bad_arguments("--subprotocol needs a value");
      out.subprotocols.emplace_back(v);
    } else if (arg == "--header") {
      if (!value(v)) return bad_arguments("--header needs 'Name: value'");
      const std::size_t colon = v.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        return bad_arguments("--header needs 'Name: value'");
      }
      std::string_view header_value = v.substr(colon + 1);
      while (!header_value.empty() &&
             (header_value.front() == ' ' || header_value.front() == '\t')) {
        header_value.remove_prefix(1);
      }
      out.headers.push_back({std::string(v.substr(0, colon)), std::string(header_value)});
    } else if (arg == "--max-message") {
      if (!value(v)) return bad_arguments("--max-message needs a number");
      const auto [end, error] = std::from_chars(v.data(), v.data() + v.size(), out.max_message);
      if (error != std::errc{} || end != v.data() + v.size() || out.max_message == 0) {
        return bad_arguments("--max-message takes a positive number of bytes");
      }
    } else if (arg == "--insecure") {
      out.insecure = true;
    } else if (arg == "--ca") {
      if (!value(v)) return bad_arguments("--ca needs a file");
      out.ca_file = std::string(v);
    } else if (arg == "--autobahn") {
      out.autobahn = true;
    } else if (arg == "--deflate") {
#if WS_HAVE_DEFLATE
      out.deflate = true;
#else
      return bad_arguments("--deflate: built without zlib");
#endif
    } else if (arg == "--io") {
      if (!value(v) || (v != "threads" && v != "epoll" && v != "uring" && v != "asio")) {
        return bad_arguments("--io takes threads, epoll, uring or asio");
      }
      out.io = std::string(v);
      out.io_given = true;
    } else if (arg == "--http2") {
#if WS_CLIENT_HAVE_HTTP2
      out.http2 = true;
#else
      return bad_arguments("--http2: built without nghttp2 (libnghttp2-dev)");
#endif
    } else if (arg == "--proxy") {
      if (!value(v) || v.empty()) return bad_arguments("--proxy needs a URL");
      out.proxy_url = std::string(v);
    } else if (arg == "--no-proxy") {
      out.no_proxy = true;
    } else if (arg == "--max-redirects") {
      if (!value(v)) return bad_arguments("--max-redirects needs a number");
      const auto [end, error] =
          std::from_chars(v.data(), v.data() + v.size(), out.resilience.max_redirects);
      if (error != std::errc{} || end != v.data() + v.size()) {
        return bad_arguments("--max-redirects takes a number (0: never follow)");
      }
      out.max_redirects_given = true;
    } else if (arg == "--reconnect") {
      out.resilience.reconnect = true;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    } else if (!arg.empty() && arg.front() == '-') {
      return bad_arguments("unknown option '" + std::string(arg) + "'");
    } else if (out.url.empty()) {
      out.url = std::string(arg);
    } else {
      return bad_arguments("more than one URL");
    }
  }
  if (out.url.empty()) return bad_arguments("a URL is required");
  const ws::Result<ws::WsUrl> url = ws::parse_ws_url(out.url);
  if (!url) return bad_arguments("'" + out.url + "' is not a ws:// or wss:// URL");
  if (out.autobahn && out.io != "threads") return bad_arguments("--autobahn runs on --io threads");
  if (out.http2) {
    if (out.io_given && out.io != "epoll") return bad_arguments("--http2 runs on --io epoll");
    if (out.autobahn) return bad_arguments("--http2 and --autobahn do not go together");
    out.io = "epoll";
  }
  // Redirects and reconnection live in ws::ResilientClient, which the
  // HTTP/2 client and the Autobahn runner do not use.
  if ((out.resilience.reconnect || out.max_redirects_given) && (out.http2 || out.autobahn)) {
    return bad_arguments(
        "--reconnect and --max-redirects run on --io threads, epoll, uring or asio");
  }
  return 0;
}

void print_message(const ws::Message& message) {
  if (message.kind == ws::MessageKind::text) {
    std::fwrite(message.payload.data(), 1, message.payload.size(), stdout);
  } else {
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(message.payload.size() * 2);
    for (std::byte b : message.payload) {
      hex.push_back(digits[std::to_integer<unsigned>(b) >> 4]);
      hex.push_back(digits[std::to_integer<unsigned>(b) & 0xF]);
    }
    std::fwrite(hex.data(), 1, hex.size(), stdout);
  }
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// Sends each line of standard input (without its line end) on a thread of
// its own, then closes with 1000 at end of input. `send` is thread-safe and
// returns false once the connection no longer takes messages.
void send_stdin_lines(std::function<bool(std::string_view)> send, std::function<void()> close) {
  std::thread([send = std::move(send), close = std::move(close)] {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!send(line)) break;
    }
    close();
  }).detach();
}

// wss:// on the transports that host the driver: the ws::tls layer, which
// checks the server's certificate against the system's store or --ca, and
// its name against the URL's host, unless --insecure. Empty (after saying
// why) when the trusted certificates cannot be loaded.
std::shared_ptr<const ws::StreamLayerFactory> client_tls(const ClientArguments& arguments) {
  ws::tls::ClientSettings settings;
  settings.ca_file = arguments.ca_file;
  settings.insecure = arguments.insecure;
  // --http2: RFC 9113 3.2, HTTP/2 over TLS only when ALPN agrees on h2.
  if (arguments.http2) settings.alpn = {"h2"};
  std::string detail;
  ws::Result<std::shared_ptr<const ws::StreamLayerFactory>> layer =
      ws::tls::client_layer(settings, &detail);
  if (!layer) {
    std::fprintf(stderr, "ws-client: cannot load trusted certificates: %s%s%s\n",
                 layer.error().message().c_str(), detail.empty() ? "" : ": ", detail.c_str());
    return nullptr;
  }
  return *layer;
}

// TLS for a ws:// URL that may be redirected to wss://: the trusted
// certificates are loaded at the first wss:// connect, not at start, so a
// plain client does not pay for them.
class LazyTls final : public ws::StreamLayerFactory {
 public:
  explicit LazyTls(const ClientArguments& arguments) : arguments_(arguments) {}
  ws::Result<std::unique_ptr<ws::StreamLayer>> make(ws::Role role,
                                                    std::string_view host) const override {
    std::call_once(loaded_, [this] { factory_ = client_tls(arguments_); });
    if (!factory_) return make_error_code(ws::errc::invalid_url);  // client_tls said why
    return factory_->make(role, host);
  }

 private:
  ClientArguments arguments_;
  mutable std::once_flag loaded_;
  mutable std::shared_ptr<const ws::StreamLayerFactory> factory_;
};

ws::posix::BlockingClientOptions client_options(const ClientArguments& arguments) {
  ws::posix::BlockingClientOptions options;
  options.config.limits.max_message_size = arguments.max_message;
  options.config.limits.max_frame_size = arguments.max_message;
  options.config.limits.max_queued_output = 2 * arguments.max_message + 1024 * 1024;
  options.stream_layer = arguments.tls;
  options.route = arguments.route;
  options.handshake.subprotocols = arguments.subprotocols;
  options.handshake.extra_headers = arguments.headers;
#if WS_HAVE_DEFLATE
  if (arguments.deflate) options.config.extension = ws::deflate::make_extension();
#endif
  return options;
}

// What ended a connection, for the exit status.
struct Outcome {
  int rejected_status = 0;
  std::optional<ws::Closed> closed;
  std::string reason;
};

int exit_status(const Outcome& outcome, std::error_code error) {
  // The proxy refused or could not be reached: say so, naming it.
  if (const std::string line =
          ws_client::proxy_failure(outcome.closed ? outcome.closed->error : error, outcome.reason);
      !line.empty()) {
    std::fprintf(stderr, "ws-client: %s\n", line.c_str());
    return 1;
  }
  if (outcome.rejected_status != 0) {
    std::fprintf(stderr, "ws-client: the server refused the upgrade: HTTP %d\n",
                 outcome.rejected_status);
    return 1;
  }
  if (!outcome.closed) {
    std::fprintf(stderr, "ws-client: %s\n", error ? error.message().c_str() : "connection ended");
    return 1;
  }
  const ws::Closed& closed = *outcome.closed;
  const auto code = static_cast<unsigned>(closed.code);
  if (!closed.error &&
      (closed.code == ws::CloseCode::normal || closed.code == ws::CloseCode::going_away)) {
    return 0;
  }
  std::fprintf(stderr, "ws-client: closed with code %u%s%s%s%s\n", code,
               outcome.reason.empty() ? "" : " reason '", outcome.reason.c_str(),
               outcome.reason.empty() ? "" : "'",
               closed.error ? (", " + closed.error.message()).c_str() : "");
  return 1;
}

#if WS_CLIENT_HAVE_HTTP2
// --http2: one HTTP/2 connection on the epoll loop, carrying this one
// WebSocket as a stream (RFC 8441). No redirects or reconnection here.
int run_http2(const ClientArguments& arguments) {
  ws::posix::EpollLoop loop;
  Outcome outcome;
  std::error_code failure;
  ws::Handler handler;
  handler.on_open = [](const ws::SessionPtr& session) {
    send_stdin_lines([session](std::string_view line) { return !session->send_text(line); },
                     [session] { (void)session->close(ws::CloseCode::normal); });
  };
  handler.on_message = [](const ws::SessionPtr&, const ws::Message& message) {
    print_message(message);
  };
  handler.on_rejected = [&outcome](const ws::SessionPtr&, const ws::Rejected& rejected) {
    outcome.rejected_status = rejected.status;
  };
  handler.on_close = [&](const ws::SessionPtr&, const ws::Closed& closed) {
    // A connection that never opened (refused, timed out) ends the same way.
    outcome.closed = closed;
    outcome.reason = std::string(closed.reason);
    failure = closed.error;
    loop.stop();
  };
  const ws::posix::BlockingClientOptions common = client_options(arguments);
  ws::posix::EpollClient client(loop, common);
  const std::error_code error = client.connect_socket(
      arguments.url, handler,
      [&](ws::SocketDriverContext context) -> ws::Result<std::unique_ptr<ws::SocketDriver>> {
        ws::Result<std::unique_ptr<ws::http2::ClientConnection>> connection =
            ws::http2::ClientConnection::make(std::move(context));
        if (!connection) return connection.error();
        ws::Result<ws::SessionPtr> opened = (*connection)->open(arguments.url, common.handshake);
        if (!opened) return opened.error();
        return std::unique_ptr<ws::SocketDriver>(std::move(*connection));
      });
  if (error) {
    std::fprintf(stderr, "ws-client: %s\n", error.message().c_str());
    return 1;
  }
  if (const std::error_code run_error = loop.run()) {
    std::fprintf(stderr, "ws-client: %s\n", run_error.message().c_str());
    return 1;
  }
  return exit_status(outcome, failure);
}
#endif

// Runs one connection that echoes everything back; returns the text of the
// first message when `first_text` is set.
std::error_code echo_connection(const std::string& url, const ClientArguments& arguments,
                                std::string* first_text) {
  ws::posix::BlockingCallbacks callbacks;
  callbacks.open = [](const ws::posix::BlockingSessionPtr&) {};
  callbacks.close = [](const ws::posix::BlockingSessionPtr&, const ws::Closed&) {};
  callbacks.message = [first_text](const ws::posix::BlockingSessionPtr& session,
                                   const ws::Message& message) {
    if (first_text != nullptr) {
      if (first_text->empty()) *first_text = std::string(message.text());
      return;
    }
    if (message.kind == ws::MessageKind::text) {
      (void)session->send_text(message.text());
    } else {
      (void)session->send_binary(message.payload);
    }
  };
  return ws::posix::connect(url, callbacks, client_options(arguments));
}

int run_autobahn(const ClientArguments& arguments) {
  std::string base = arguments.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string count_text;
  (void)echo_connection(base + "/getCaseCount", arguments, &count_text);
  int count = 0;
  const auto [end, error] =
      std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (error != std::errc{} || count <= 0) {
    std::fprintf(stderr, "ws-client: no case count from %s/getCaseCount\n", base.c_str());
    return 1;
  }
  for (int n = 1; n <= count; ++n) {
    std::fprintf(stderr, "ws-client: case %d of %d\n", n, count);
    (void)echo_connection(base + "/runCase?case=" + std::to_string(n) + "&agent=ws", arguments,
                          nullptr);
  }
  // The cases may fail their connections on purpose; the report request
  // must end with a clean close handshake.
  const std::error_code report_error =
      echo_connection(base + "/updateReports?agent=ws", arguments, nullptr);
  if (report_error) {
    std::fprintf(stderr, "ws-client: %s/updateReports: %s\n", base.c_str(),
                 report_error.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ClientArguments arguments;
  if (const int status = parse(argc, argv, arguments); status != 0) return status;
  // The proxy: --proxy, else the environment unless --no-proxy. A proxy URL
  // that does not parse stops here: going direct would bypass it quietly.
  ws_client::ProxyChoice proxy;
  if (const auto error =
          ws_client::choose_proxy(arguments.url, arguments.proxy_url, arguments.no_proxy,
                                  ws::proxy::process_environment(), proxy)) {
    if (!arguments.proxy_url.empty()) return bad_arguments(*error);
    std::fprintf(stderr, "ws-client: %s\n", error->c_str());
    return 1;
  }
  if (proxy.proxy && arguments.http2 && !ws::parse_ws_url(arguments.url)->secure) {
    // h2c with prior knowledge through a tunnel: the HTTP/2 client takes
    // any layer for TLS and wants ALPN h2 from it, which a tunnel has not.
    std::fprintf(stderr,
                 "ws-client: --http2 through a proxy needs wss:// (ALPN h2 through the tunnel)\n");
    return 2;
  }
  arguments.route = ws_client::use_proxy(proxy, arguments.proxy_url.empty() && !arguments.no_proxy);
  if (arguments.io == "asio" && !WS_CLIENT_HAVE_ASIO) {
    std::fprintf(stderr, "ws-client: this build has no Asio (install libasio-dev)\n");
    return 1;
  }
  if (ws::parse_ws_url(arguments.url)->secure) {
    arguments.tls = client_tls(arguments);
    if (!arguments.tls) return 1;
  } else if (arguments.resilience.max_redirects > 0 && !arguments.http2 && !arguments.autobahn) {
    // A redirect may lead from ws:// to wss://: TLS, loaded only then.
    arguments.tls = std::make_shared<const LazyTls>(arguments);
  }
  if (!arguments.autobahn && !arguments.http2) {
    // threads, epoll, uring and asio: redirects (default 5) and --reconnect.
    return ws_client::run_resilient(arguments.url, client_options(arguments), arguments.io,
                                    arguments.resilience, print_message,
                                    [](int rejected, const std::optional<ws::Closed>& closed,
                                       const std::string& reason, std::error_code error) {
                                      return exit_status(Outcome{rejected, closed, reason}, error);
                                    });
  }
  if (arguments.autobahn) return run_autobahn(arguments);
#if WS_CLIENT_HAVE_HTTP2
  return run_http2(arguments);  // parse() accepts --http2 only in such a build
#else
  return 1;
#endif
}
