// A server for the ResilientClient tests of every transport: an EpollServer
// on a thread of its own whose paths redirect, refuse or drop:
//   /hop1            301 to /hop2 (relative)
//   /hop2            307 to ws://127.0.0.1:PORT/final (absolute)
//   /final           accepted; echoes text; records the Authorization seen
//   /loop            302 to /loop
//   /other-origin    308 to ws://localhost:PORT/final (another origin)
//   /flaky           the first `flaky_drops` connections are closed by the
//                    server with 1012 right after they open; later ones echo
//   /forbidden       403
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "epoll_test_support.hpp"
#include "ws/driver/resilient_client.hpp"

namespace ws::posix::epoll_test {

struct RedirectingServer {
  explicit RedirectingServer(int drops = 0) : flaky_drops(drops) {
    EpollServerOptions options;
    options.on_upgrade = [this](const UpgradeRequest& request) {
      {
        std::lock_guard lock(mutex);
        paths.push_back(request.path);
        authorization.push_back(std::string(request.header("Authorization").value_or("")));
      }
      const auto to = [](int status, std::string location) {
        return UpgradeDecision::reject(status, {}, {{"Location", std::move(location)}});
      };
      const std::string self = "ws://127.0.0.1:" + std::to_string(port());
      if (request.path == "/hop1") return to(301, "/hop2");
      if (request.path == "/hop2") return to(307, self + "/final");
      if (request.path == "/loop") return to(302, "/loop");
      if (request.path == "/other-origin") {
        return to(308, "ws://localhost:" + std::to_string(port()) + "/final");
      }
      if (request.path == "/forbidden") return UpgradeDecision::reject(403);
      return UpgradeDecision::accept_with();
    };
    Handler handler;
    handler.on_open = [this](const SessionPtr& session) {
      if (session->request() != nullptr && session->request()->path == "/flaky" &&
          flaky_drops.fetch_sub(1) > 0) {
        (void)session->close(CloseCode::service_restart, "restarting");
      }
    };
    handler.on_message = [](const SessionPtr& session, const Message& message) {
      (void)session->send_text(message.text());
    };
    Result<EpollServer> created = EpollServer::listen(runner.loop(), options, handler);
    if (created) server.emplace(std::move(*created));
    runner.start();
  }
  ~RedirectingServer() { runner.stop(); }

  std::uint16_t port() const { return server ? server->port() : 0; }
  std::string url(std::string_view path) const {
    return "ws://127.0.0.1:" + std::to_string(port()) + std::string(path);
  }
  std::vector<std::string> seen_paths() {
    std::lock_guard lock(mutex);
    return paths;
  }
  std::vector<std::string> seen_authorization() {
    std::lock_guard lock(mutex);
    return authorization;
  }

  std::atomic<int> flaky_drops;
  std::mutex mutex;
  std::vector<std::string> paths;
  std::vector<std::string> authorization;
  LoopThread runner;
  std::optional<EpollServer> server;
};

/// What a ResilientClient reported, from any thread.
struct ResilienceLog {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::vector<std::string> texts;
  std::optional<GaveUpEvent> gave_up;
  int opens = 0;

  void add(std::string line) {
    std::lock_guard lock(mutex);
    lines.push_back(std::move(line));
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return lines;
  }
  bool finished() {
    std::lock_guard lock(mutex);
    return gave_up.has_value();
  }
  int open_count() {
    std::lock_guard lock(mutex);
    return opens;
  }
  std::vector<std::string> received() {
    std::lock_guard lock(mutex);
    return texts;
  }

  /// The handler: sends "hello" on every open; records what comes back.
  Handler handler() {
    Handler handler;
    handler.on_open = [this](const SessionPtr& session) {
      {
        std::lock_guard lock(mutex);
        ++opens;
      }
      add("open");
      (void)session->send_text("hello");
    };
    handler.on_message = [this](const SessionPtr&, const Message& message) {
      std::lock_guard lock(mutex);
      texts.emplace_back(message.text());
    };
    handler.on_rejected = [this](const SessionPtr&, const Rejected& rejected) {
      add("rejected " + std::to_string(rejected.status));
    };
    return handler;
  }
  ResilienceEvents events() {
    ResilienceEvents events;
    events.on_redirect = [this](std::string_view, std::string_view to, int status) {
      add("redirect " + std::to_string(status) + " " + std::string(to));
    };
    events.on_reconnecting = [this](const ReconnectingEvent& event) {
      add("reconnecting " + std::to_string(event.attempt) + " " + describe(event.end));
    };
    events.on_reconnected = [this](const SessionPtr&, std::uint32_t attempt) {
      add("reconnected " + std::to_string(attempt));
    };
    events.on_gave_up = [this](const GaveUpEvent& event) {
      add("gave up: " + std::string(describe(event.reason)) +
          (event.error ? " " + event.error.message() : std::string()));
      std::lock_guard lock(mutex);
      gave_up = event;
    };
    return events;
  }
};

/// Reconnects at once (zero delays), so the tests take milliseconds.
inline ResilientOptions fast_reconnect() {
  ResilientOptions options;
  options.supervisor.reconnect = true;
  options.supervisor.reconnect_settings.initial_delay = Duration(1);
  options.supervisor.reconnect_settings.max_delay = Duration(5);
  return options;
}

}  // namespace ws::posix::epoll_test
