// ws-redis-fanout: the client side of the Redis backplane benchmark
// (bench/redis/run_fanout.py starts redis-server and the ws-demo nodes).
// It opens --subscribers WebSocket clients on the channel of every node
// given, plus one publisher on the first node, then:
//   1. latency: --messages messages, one every --interval-ms, each carrying
//      its send time; every subscriber records now - send time (one
//      machine, one monotonic clock), split into same-node and cross-node;
//   2. throughput: --burst messages sent back to back; reports messages per
//      second (published) and deliveries per second (to all subscribers)
//      from the first send to the last delivery.
//
//   ws-redis-fanout --node ws://127.0.0.1:P1/channel/bench [--node ...]
//                   [--subscribers 1000] [--messages 500] [--interval-ms 10]
//                   [--burst 2000] [--timeout 120]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ws/posix/epoll_client.hpp"
#include "ws/posix/epoll_loop.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<std::string> nodes;
  std::size_t subscribers = 1000;
  std::size_t messages = 500;
  int interval_ms = 10;
  std::size_t burst = 2000;
  int timeout_seconds = 120;
};

bool parse(int argc, char** argv, Options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view arg = argv[i];
    const char* value = argv[i + 1];
    const unsigned long number = std::strtoul(value, nullptr, 10);
    if (arg == "--node") {
      options.nodes.emplace_back(value);
    } else if (arg == "--subscribers") {
      options.subscribers = number;
    } else if (arg == "--messages") {
      options.messages = number;
    } else if (arg == "--interval-ms") {
      options.interval_ms = static_cast<int>(number);
    } else if (arg == "--burst") {
      options.burst = number;
    } else if (arg == "--timeout") {
      options.timeout_seconds = static_cast<int>(number);
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && !options.nodes.empty();
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

double percentile(std::vector<double>& values, double fraction) {
  if (values.empty()) return 0;
  const auto index = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index),
                   values.end());
  return values[index];
}

// Loop-thread state: what the subscribers heard.
struct Heard {
  std::vector<double> same_node_us;
  std::vector<double> cross_node_us;
  std::atomic<std::size_t> latency_deliveries{0};
  std::atomic<std::size_t> burst_deliveries{0};
  std::atomic<std::int64_t> last_burst_ns{0};
  std::atomic<std::size_t> open{0};
  std::atomic<std::size_t> failed{0};
};

bool wait_for(const std::function<bool()>& done, int timeout_seconds) {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: ws-redis-fanout --node WS_URL [--node WS_URL ...] [--subscribers N]\n"
                 "                       [--messages M] [--interval-ms MS] [--burst B] "
                 "[--timeout S]\n");
    return 2;
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  ws::posix::EpollLoop loop;
  ws::posix::EpollClientOptions client_options;
  client_options.config.limits.max_message_size = 1024 * 1024;
  ws::posix::EpollClient client(loop, client_options);
  Heard heard;
  const std::size_t total = options.subscribers * options.nodes.size();
  heard.same_node_us.reserve(options.messages * options.subscribers);
  heard.cross_node_us.reserve(options.messages * (total - options.subscribers));

  auto subscriber = [&](bool same_node) {
    ws::posix::EpollHandler handler;
    handler.on_open = [&](const ws::posix::EpollSessionPtr&) { ++heard.open; };
    handler.on_close = [&](const ws::posix::EpollSessionPtr&, const ws::Closed&) {
      ++heard.failed;
    };
    handler.on_message = [&heard, same_node](const ws::posix::EpollSessionPtr&,
                                             const ws::Message& message) {
      const std::int64_t now = now_ns();
      const std::string_view text = message.text();
      // "L <send ns>" (latency) or "B <send ns>" (burst).
      const std::int64_t sent = std::strtoll(text.data() + 2, nullptr, 10);
      if (text.front() == 'L') {
        const double micros = static_cast<double>(now - sent) / 1000.0;
        (same_node ? heard.same_node_us : heard.cross_node_us).push_back(micros);
        ++heard.latency_deliveries;
      } else {
        ++heard.burst_deliveries;
        heard.last_burst_ns.store(now);
      }
    };
    return handler;
  };

  std::thread runner([&] { (void)loop.run(); });
  // Connect in steps so the listen backlogs never overflow.
  std::size_t started = 0;
  for (std::size_t n = 0; n < options.nodes.size(); ++n) {
    for (std::size_t s = 0; s < options.subscribers; ++s) {
      if (!client.connect(options.nodes[n], subscriber(n == 0))) ++heard.failed;
      if (++started % 200 == 0) {
        wait_for([&] { return heard.open + heard.failed >= started; }, options.timeout_seconds);
      }
    }
  }
  ws::posix::EpollHandler quiet;  // the publisher ignores what it hears
  ws::Result<ws::posix::EpollSessionPtr> publisher = client.connect(options.nodes[0], quiet);
  if (!publisher ||
      !wait_for([&] { return heard.open >= total || heard.failed > 0; }, options.timeout_seconds) ||
      heard.failed > 0) {
    std::fprintf(stderr, "ws-redis-fanout: %zu of %zu subscribers connected, %zu failed\n",
                 heard.open.load(), total, heard.failed.load());
    loop.stop();
    runner.join();
    return 1;
  }
  // The nodes subscribed when their first subscriber joined; let the last
  // handshakes and subscriptions settle.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  for (std::size_t m = 0; m < options.messages; ++m) {
    (void)(*publisher)->send_text("L " + std::to_string(now_ns()));
    std::this_thread::sleep_for(std::chrono::milliseconds(options.interval_ms));
  }
  const bool latency_done =
      wait_for([&] { return heard.latency_deliveries >= options.messages * total; },
               options.timeout_seconds);

  const std::int64_t burst_start = now_ns();
  for (std::size_t m = 0; m < options.burst; ++m) {
    (void)(*publisher)->send_text("B " + std::to_string(now_ns()));
  }
  const bool burst_done = wait_for([&] { return heard.burst_deliveries >= options.burst * total; },
                                   options.timeout_seconds);
  loop.stop();
  runner.join();

  const double burst_seconds = static_cast<double>(heard.last_burst_ns.load() - burst_start) / 1e9;
  std::printf("nodes %zu, subscribers per node %zu, latency messages %zu (every %d ms)%s\n",
              options.nodes.size(), options.subscribers, options.messages, options.interval_ms,
              latency_done ? "" : " INCOMPLETE");
  std::printf("same-node latency:  p50 %.0f us, p99 %.0f us (%zu deliveries)\n",
              percentile(heard.same_node_us, 0.50), percentile(heard.same_node_us, 0.99),
              heard.same_node_us.size());
  if (!heard.cross_node_us.empty()) {
    std::printf("cross-node latency: p50 %.0f us, p99 %.0f us (%zu deliveries)\n",
                percentile(heard.cross_node_us, 0.50), percentile(heard.cross_node_us, 0.99),
                heard.cross_node_us.size());
  }
  std::printf("burst of %zu: %.0f messages/s published, %.0f deliveries/s%s\n", options.burst,
              static_cast<double>(options.burst) / burst_seconds,
              static_cast<double>(options.burst * total) / burst_seconds,
              burst_done ? "" : " INCOMPLETE");
  return latency_done && burst_done ? 0 : 1;
}
