// ws-load: opens many WebSocket connections to an echo server (for example
// ws-epoll-echo, in another process), holds them all at once, has each send
// messages that must all come back exactly once, and reports connections
// held, echoed messages per second and, given the server's pid, the
// server's resident memory per connection (from /proc/PID/status) and the
// CPU time it spent echoing (utime + stime from /proc/PID/stat).
//
//   ws-load --port PORT [--host 127.0.0.1] [--connections 10000]
//           [--messages 100] [--size 64] [--ramp 2000] [--in-flight 2000]
//           [--window 0] [--server-pid PID] [--timeout 120]
//           [--hold-ms 0] [--signal-server] [--tls [--tls-ca FILE]]
//           [--http2 [--h2-connections 10]]
//
// --window N keeps at most N messages per connection in flight (the next
// one is sent when an echo comes back); 0 sends them all at once. The last
// line, "RESULT key=value ...", is for scripts (scripts/bench).
//
// Server RSS is read three times: before connecting, right after every
// connection opened (rss_per_connection_open_kib) and, once every message
// came back, after --hold-ms more milliseconds with the connections idle
// (rss_per_connection_kib; at least 200 ms), which gives a server that
// releases an idle connection's buffers the time to do it.
// --signal-server sends SIGUSR2 to --server-pid, then waits 100 ms, before
// the first and the last of these readings: a server started with
// --memory-report (ws-echo, beast-echo, websocketpp-echo) prints its
// allocator's figures then, and scripts/bench takes the difference. Only
// for such a server: SIGUSR2 ends a process that does not handle it.
//
// --tls connects with wss:// over TLS 1.3 (OpenSSL's default groups and
// cipher suites, a full handshake per connection, no resumption), before the
// WebSocket upgrade; bench/load/tls_client_layer.hpp, OpenSSL directly, not
// ws's own TLS. The server's certificate is not checked (a load generator on
// loopback) unless --tls-ca names the CA file to check it against (chain and
// host or IP address).
//
// --http2 carries the WebSockets over HTTP/2 (RFC 8441) instead: the
// --connections WebSockets become extended CONNECT streams spread evenly
// over --h2-connections TCP connections (h2c with prior knowledge, or ALPN
// "h2" with --tls); http2_load.cpp, nghttp2's client. Every other option
// means the same; --ramp and --in-flight do not apply (each connection asks
// for all its streams at once, after the server's SETTINGS). Connections in
// the report are then WebSockets, RSS per connection is per WebSocket.
//
// The load generator's own CPU time over the timed phase is reported too
// (load_cpu_s_per_million, and load_busy: that time over the phase's wall
// time; near 1.0, its one loop thread may be what limits messages/s).
//
// Connects ramp up (--ramp per second, at most --in-flight handshakes at
// once: the listen backlog is bounded). The client starts every close, and
// the server, which closes the TCP connection first (RFC 6455 7.1.1), keeps
// the TIME_WAIT state, so the client's ephemeral ports are free again.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "load_common.hpp"
#if WS_LOAD_TLS
#include "tls_client_layer.hpp"
#endif
#if WS_LOAD_HTTP2
#include "http2_load.hpp"
#endif
#include "ws/posix/epoll_client.hpp"
#include "ws/posix/epoll_loop.hpp"

namespace {

using ws_load::Clock;
using ws_load::Options;
using ws_load::Tally;

int usage() {
  std::fprintf(stderr,
               "usage: ws-load --port PORT [--host ADDRESS] [--connections N] [--messages M]\n"
               "               [--size BYTES] [--ramp CONNECTS_PER_S] [--in-flight N]\n"
               "               [--window N] [--server-pid PID] [--timeout SECONDS]\n"
               "               [--hold-ms MS] [--signal-server] [--tls [--tls-ca FILE]]\n"
               "               [--http2 [--h2-connections N]]\n"
               "  --tls      wss:// (TLS 1.3, OpenSSL); without --tls-ca the server's\n"
               "             certificate is NOT checked (meant for loopback benchmarks)\n"
               "  --tls-ca   check the server's certificate against this CA file\n"
               "  --http2    the N WebSockets as HTTP/2 streams (RFC 8441) over\n"
               "             --h2-connections connections (default 10)\n");
  return 2;
}

bool parse(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--signal-server") {
      options.signal_server = true;
      continue;
    }
    if (arg == "--tls") {
      options.tls = true;
      continue;
    }
    if (arg == "--http2") {
      options.http2 = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const char* value = argv[++i];
    const unsigned long number = std::strtoul(value, nullptr, 10);
    if (arg == "--host") {
      options.host = value;
    } else if (arg == "--port") {
      options.port = static_cast<std::uint16_t>(number);
    } else if (arg == "--connections") {
      options.connections = number;
    } else if (arg == "--messages") {
      options.messages = number;
    } else if (arg == "--size") {
      options.size = std::max<unsigned long>(number, 8);
    } else if (arg == "--ramp") {
      options.ramp_per_second = std::max<unsigned long>(number, 1);
    } else if (arg == "--in-flight") {
      options.in_flight = std::max<unsigned long>(number, 1);
    } else if (arg == "--window") {
      options.window = number;
    } else if (arg == "--server-pid") {
      options.server_pid = static_cast<long>(number);
    } else if (arg == "--timeout") {
      options.timeout_seconds = static_cast<int>(number);
    } else if (arg == "--hold-ms") {
      options.hold_ms = number;
    } else if (arg == "--tls-ca") {
      options.tls_ca = value;
    } else if (arg == "--h2-connections") {
      options.h2_connections = std::max<unsigned long>(number, 1);
    } else {
      return false;
    }
  }
  return options.port != 0 && (!options.signal_server || options.server_pid > 0) &&
         (options.tls || options.tls_ca.empty());
}

void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// VmRSS of a process in KiB, or 0.
std::size_t resident_kib(long pid) {
  if (pid <= 0) return 0;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoul(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

// utime + stime of a process in seconds (fields 14 and 15 of
// /proc/PID/stat, after the command name in parentheses), or 0.
double cpu_seconds(long pid) {
  if (pid <= 0) return 0;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  const std::size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  unsigned long long ticks = 0;
  // After the name: state is field 3, utime field 14, stime field 15.
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number >= 14) ticks += std::strtoull(field.c_str(), nullptr, 10);
  }
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// --signal-server: asks the server (started with --memory-report) to print
// its allocator's figures, and gives it the time to.
void signal_server(const Options& options) {
  if (!options.signal_server || options.server_pid <= 0) return;
  if (::kill(static_cast<pid_t>(options.server_pid), SIGUSR2) != 0) {
    std::fprintf(stderr, "ws-load: cannot signal the server: %s\n", std::strerror(errno));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

// HTTP/1.1: one TCP connection per WebSocket, ws's own EpollClient (and,
// with --tls, OpenSSL through tls_client_layer.hpp). Its vectors are used
// on the loop thread only.
class Http1Transport final : public ws_load::Transport {
 public:
  Http1Transport(const Options& options, Tally& tally,
                 const ws::posix::EpollClientOptions& client_options)
      : options_(options),
        tally_(tally),
        client_(loop_, client_options),
        sessions_(options.connections),
        next_seq_(options.connections, 0),
        payload_(options.size, std::byte{'x'}) {
    url_ = (options.tls ? "wss://" : "ws://") + options.host + ":" + std::to_string(options.port) +
           "/load";
    thread_ = std::thread([this] {
      if (const std::error_code error = loop_.run()) {
        std::fprintf(stderr, "ws-load: loop: %s\n", error.message().c_str());
      }
    });
  }
  ~Http1Transport() override { stop(); }

  // Connects ramp up, bounded in rate and in handshakes under way.
  void open_all(Clock::time_point deadline) override {
    const Clock::time_point connect_start = Clock::now();
    while (started_ < options_.connections && Clock::now() < deadline) {
      const double allowed_by_rate =
          std::chrono::duration<double>(Clock::now() - connect_start).count() *
          static_cast<double>(options_.ramp_per_second);
      const std::size_t settled = tally_.opened.load() + tally_.failed.load();
      const bool rate_ok = static_cast<double>(started_) < allowed_by_rate + 1;
      const bool window_ok = started_ - std::min(started_, settled) < options_.in_flight;
      if (!rate_ok || !window_ok) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      const auto index = static_cast<std::uint32_t>(started_);
      ws::Result<ws::posix::EpollSessionPtr> session = client_.connect(url_, handler(index));
      ++started_;
      if (!session) {
        ++refused_at_once_;
        tally_.failed.fetch_add(1);
        tally_.note_error(session.error().message());
      }
    }
    while (tally_.opened.load() + tally_.failed.load() < started_ && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::size_t started() const override { return started_; }
  std::size_t refused_at_once() const override { return refused_at_once_; }

  void send_all() override {
    loop_.post([this] {
      const std::size_t first =
          options_.window > 0 ? std::min(options_.window, options_.messages) : options_.messages;
      for (std::uint32_t index = 0; index < sessions_.size(); ++index) {
        const ws::posix::EpollSessionPtr& session = sessions_[index];
        if (!session) continue;
        for (std::size_t i = 0; i < first; ++i) send_next(*session, index);
      }
    });
  }
  void close_all() override {
    loop_.post([this] {
      for (const ws::posix::EpollSessionPtr& session : sessions_) {
        if (session) session->close(ws::CloseCode::normal);
      }
    });
  }
  void stop() override {
    if (!thread_.joinable()) return;
    loop_.stop();
    thread_.join();
  }
  void describe(std::FILE* out) const override {
    std::fprintf(out, "  transport                 HTTP/1.1, one connection per WebSocket\n");
  }
  std::string result_fields() const override { return " http2=0"; }

 private:
  // Sends message next_seq_[index] of connection `index` (loop thread only).
  void send_next(ws::posix::EpollSession& session, std::uint32_t index) {
    Tally::stamp(payload_, index, next_seq_[index]++);
    session.send_binary(payload_);
  }

  ws::posix::EpollHandler handler(std::uint32_t index) {
    ws::posix::EpollHandler h;
    h.on_open = [this, index](const ws::posix::EpollSessionPtr& session) {
      sessions_[index] = session;
      tally_.mark_opened(index);
    };
    h.on_message = [this, index](const ws::posix::EpollSessionPtr& session,
                                 const ws::Message& message) {
      if (tally_.take_echo(index, message.payload) && options_.window > 0 &&
          next_seq_[index] < options_.messages) {
        send_next(*session, index);
      }
    };
    h.on_close = [this, index](const ws::posix::EpollSessionPtr&, const ws::Closed& closed_event) {
      if (!sessions_[index]) {
        tally_.failed.fetch_add(1);
      } else if (!tally_.closing.load()) {
        tally_.ended_early.fetch_add(1);
      }
      if (closed_event.error || !sessions_[index]) {
        tally_.note_error(closed_event.error.message());
      }
      tally_.closed.fetch_add(1);
    };
    return h;
  }

  const Options& options_;
  Tally& tally_;
  ws::posix::EpollLoop loop_;
  ws::posix::EpollClient client_;
  std::string url_;
  std::vector<ws::posix::EpollSessionPtr> sessions_;
  std::vector<std::uint32_t> next_seq_;  // with --window: the next message to send
  std::vector<std::byte> payload_;       // scratch for the message being sent
  std::size_t started_ = 0;
  std::size_t refused_at_once_ = 0;
  std::thread thread_;
};

template <class Done>
bool wait_for(Done done, Clock::time_point deadline) {
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) return usage();
  raise_open_file_limit();

#if WS_LOAD_TLS
  std::shared_ptr<ws_bench::TlsClientShared> tls;
  if (options.tls) {
    std::string error;
    tls = ws_bench::TlsClientShared::create(options.tls_ca, error);
    if (!tls) {
      std::fprintf(stderr, "ws-load: %s\n", error.c_str());
      return 1;
    }
  }
#else
  if (options.tls) {
    std::fprintf(stderr, "ws-load: --tls: built without OpenSSL\n");
    return 2;
  }
#endif
  Tally tally(options);
  std::unique_ptr<ws_load::Transport> transport;
  if (options.http2) {
#if WS_LOAD_HTTP2
    std::string error;
#if WS_LOAD_TLS
    transport = ws_load::make_http2_transport(options, tally, tls, error);
#else
    transport = ws_load::make_http2_transport(options, tally, nullptr, error);
#endif
    if (!transport) {
      std::fprintf(stderr, "ws-load: %s\n", error.c_str());
      return 1;
    }
#else
    std::fprintf(stderr, "ws-load: --http2: built without nghttp2 (libnghttp2-dev)\n");
    return 2;
#endif
  } else {
    ws::posix::EpollClientOptions client_options;
    client_options.config.timeouts.handshake_timeout = std::chrono::seconds(60);
#if WS_LOAD_TLS
    if (tls) client_options.stream_layer = std::make_shared<ws_bench::TlsClientFactory>(tls);
#endif
    transport = std::make_unique<Http1Transport>(options, tally, client_options);
  }

  signal_server(options);
  const std::size_t rss_before = resident_kib(options.server_pid);
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(options.timeout_seconds);
  const std::string url = (options.tls ? "wss://" : "ws://") + options.host + ":" +
                          std::to_string(options.port) + "/load";

  // 1. Open every WebSocket.
  const Clock::time_point connect_start = Clock::now();
  transport->open_all(deadline);
  const double connect_seconds = seconds_since(connect_start);
  const std::size_t started = transport->started();
  const std::size_t refused_at_once = transport->refused_at_once();
  // Open now: opened, minus those that ended since (failures end unopened).
  const std::size_t held = tally.opened.load() - (tally.closed.load() - tally.failed.load());
  const std::size_t rss_open = resident_kib(options.server_pid);

  // 2. Every WebSocket sends all its messages; each must come back once.
  const std::size_t expected = tally.opened.load() * options.messages;
  const double cpu_before = cpu_seconds(options.server_pid);
  const double load_cpu_before = cpu_seconds(::getpid());
  const Clock::time_point send_start = Clock::now();
  transport->send_all();
  const bool all_back = wait_for([&] { return tally.echoed.load() >= expected; }, deadline);
  const double send_seconds = seconds_since(send_start);
  const double server_cpu = cpu_seconds(options.server_pid) - cpu_before;
  const double load_cpu = cpu_seconds(::getpid()) - load_cpu_before;
  const std::size_t rss_busy = resident_kib(options.server_pid);
  // The WebSockets stay open and idle for --hold-ms (late duplicates would
  // show up here too), then the "held" reading.
  const std::size_t hold_ms = std::max<std::size_t>(options.hold_ms, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
  signal_server(options);
  const std::size_t rss_held = resident_kib(options.server_pid);

  // 3. Close everything; over HTTP/1.1 the server ends each TCP connection
  // first, over HTTP/2 each stream ends, then the client's GOAWAY.
  tally.closing = true;
  transport->close_all();
  const bool all_closed = wait_for([&] { return tally.closed.load() >= started - refused_at_once; },
                                   Clock::now() + std::chrono::seconds(30));
  transport->stop();

  std::size_t missing = 0;
  for (std::size_t index = 0; index < options.connections; ++index) {
    if (tally.was_opened[index] == 0) continue;
    for (std::size_t seq = 0; seq < options.messages; ++seq) {
      if (tally.received[index * options.messages + seq] == 0) ++missing;
    }
  }

  std::printf("ws-load against %s\n", url.c_str());
  transport->describe(stdout);
  std::printf("  connections asked         %zu\n", options.connections);
  std::printf("  connections opened        %zu (failed %zu)\n", tally.opened.load(),
              tally.failed.load());
  std::printf("  connections held at once  %zu\n", held);
  std::printf("  connect phase             %.2f s (%.0f handshakes/s)\n", connect_seconds,
              static_cast<double>(tally.opened.load()) / connect_seconds);
  std::printf("  messages sent             %zu x %zu bytes\n", expected, options.size);
  std::printf("  messages echoed           %zu in %.2f s: %.0f messages/s round trip\n",
              tally.echoed.load(), send_seconds,
              static_cast<double>(tally.echoed.load()) / send_seconds);
  std::printf("  missing / duplicated      %zu / %zu (foreign %zu)\n", missing,
              tally.duplicates.load(), tally.foreign.load());
  std::printf("  ended early               %zu\n", tally.ended_early.load());
  std::printf("  closed cleanly            %s\n", all_closed ? "yes" : "no (timeout)");
  const auto per_connection = [&](std::size_t rss) {
    return tally.opened.load() > 0 ? static_cast<double>(rss - std::min(rss, rss_before)) /
                                         static_cast<double>(tally.opened.load())
                                   : 0.0;
  };
  if (options.server_pid > 0) {
    std::printf(
        "  server RSS                %zu KiB idle, %zu KiB opened, %zu KiB after echo, "
        "%zu KiB held %zu ms\n",
        rss_before, rss_open, rss_busy, rss_held, hold_ms);
    if (tally.opened.load() > 0) {
      std::printf(
          "  server RSS per connection %.1f KiB opened, %.1f KiB after echo, %.1f KiB held %zu "
          "ms\n",
          per_connection(rss_open), per_connection(rss_busy), per_connection(rss_held), hold_ms);
    }
  }
  const double echoed_count = static_cast<double>(tally.echoed.load());
  const double cpu_per_million = echoed_count > 0 ? server_cpu / echoed_count * 1e6 : 0;
  if (options.server_pid > 0) {
    std::printf("  server CPU while echoing  %.2f s (utime+stime): %.3f s per million messages\n",
                server_cpu, cpu_per_million);
  }
  const double load_cpu_per_million = echoed_count > 0 ? load_cpu / echoed_count * 1e6 : 0;
  const double load_busy = send_seconds > 0 ? load_cpu / send_seconds : 0;
  std::printf(
      "  ws-load CPU while echoing %.2f s: %.3f s per million messages, %.0f%% of one core\n",
      load_cpu, load_cpu_per_million, load_busy * 100);
#if WS_LOAD_TLS
  if (tls) {
    const std::string parameters = tls->parameters();
    std::printf("  TLS                       %s%s\n",
                parameters.empty() ? "no handshake completed" : parameters.c_str(),
                options.tls_ca.empty() ? ", certificate not checked" : ", certificate checked");
    const std::string failure = tls->first_failure();
    if (!failure.empty()) std::printf("  first TLS error           %s\n", failure.c_str());
  }
#endif
  if (!tally.first_error.empty())
    std::printf("  first error               %s\n", tally.first_error.c_str());
  const bool ok = all_back && missing == 0 && tally.duplicates.load() == 0 &&
                  tally.foreign.load() == 0 && tally.failed.load() == 0;
  std::printf("  result                    %s\n", ok ? "PASS" : "FAIL");
  std::printf(
      "RESULT ok=%d connections=%zu messages=%zu messages_per_s=%.0f server_cpu_s=%.3f "
      "server_cpu_s_per_million=%.3f rss_per_connection_kib=%.2f "
      "rss_per_connection_open_kib=%.2f hold_ms=%zu load_cpu_s_per_million=%.3f "
      "load_busy=%.2f tls=%d%s\n",
      ok ? 1 : 0, tally.opened.load(), tally.echoed.load(),
      send_seconds > 0 ? echoed_count / send_seconds : 0, server_cpu, cpu_per_million,
      per_connection(rss_held), per_connection(rss_open), hold_ms, load_cpu_per_million, load_busy,
      options.tls ? 1 : 0, transport->result_fields().c_str());
  return ok ? 0 : 1;
}
