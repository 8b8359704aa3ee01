#include "demo/demo_backplane.hpp"

#include <cstdio>
#include <optional>

#include "ws/channels/registry.hpp"
#if WS_DEMO_HAVE_REDIS
#include "ws/redis/backplane.hpp"
#if WS_REDIS_HAVE_ASIO
#include "ws/redis/asio_backplane.hpp"
#endif
#endif

namespace ws::examples {

namespace {

// The one --backplane of this process.
std::optional<std::string>& backplane_url() {
  static std::optional<std::string> url;
  return url;
}

#if WS_DEMO_HAVE_REDIS
redis::RedisBackplaneOptions demo_options() {
  redis::RedisBackplaneOptions options;
  options.endpoint = *redis::parse_redis_url(*backplane_url());
  // A member's message that cannot reach Redis is refused and its sender
  // told (publish_from_member); lost in-flight messages are logged.
  options.outage = redis::OutagePolicy::reject;
  options.on_lost = [](redis::LostReason reason, std::size_t count) {
    const char* why = reason == redis::LostReason::unconfirmed ? "unconfirmed"
                      : reason == redis::LostReason::unsent    ? "unsent"
                      : reason == redis::LostReason::refused   ? "refused by Redis"
                                                               : "dropped";
    std::fprintf(stderr, "ws-demo: backplane: %zu message(s) lost (%s)\n", count, why);
  };
  options.on_connection = [](bool connected) {
    std::fprintf(stderr, "ws-demo: backplane %s\n",
                 connected ? "connected" : "lost; serving local connections, reconnecting");
  };
  return options;
}
#endif

[[maybe_unused]] bool no_backplane_support() {
  std::fprintf(stderr,
               "ws-demo: --backplane needs ws::redis, which this build lacks "
               "(install libhiredis-dev and rebuild)\n");
  return false;
}

}  // namespace

bool parse_backplane_option(const std::vector<std::string_view>& args, std::size_t& index,
                            bool& used, std::string& error) {
  used = false;
  if (args[index] != "--backplane") return true;
  if (index + 1 >= args.size()) {
    error = "--backplane needs redis://HOST:PORT";
    return false;
  }
  const std::string_view url = args[index + 1];
#if WS_DEMO_HAVE_REDIS
  if (!redis::parse_redis_url(url)) {
    error = "--backplane: not a redis://HOST:PORT URL: " + std::string(url);
    return false;
  }
#endif
  backplane_url() = std::string(url);
  index += 2;
  used = true;
  return true;
}

bool join_backplane(posix::EpollLoop& loop, channels::Registry& registry, DemoBackplane& out) {
  if (!backplane_url()) return true;
#if WS_DEMO_HAVE_REDIS
  out = redis::RedisBackplane::on_epoll(loop, registry, demo_options());
  return true;
#else
  (void)loop;
  (void)registry;
  (void)out;
  return no_backplane_support();
#endif
}

bool join_backplane(::asio::io_context& io, channels::Registry& registry, DemoBackplane& out) {
  if (!backplane_url()) return true;
#if WS_DEMO_HAVE_REDIS && WS_REDIS_HAVE_ASIO
  out = redis::on_asio(io, registry, demo_options());
  return true;
#else
  (void)io;
  (void)registry;
  (void)out;
  return no_backplane_support();
#endif
}

bool join_backplane(channels::Registry& registry, DemoBackplane& out) {
  if (!backplane_url()) return true;
#if WS_DEMO_HAVE_REDIS
  // One backplane thread for the whole process: every connection thread
  // publishes through it.
  out = redis::RedisBackplane::on_own_thread(registry, demo_options());
  return true;
#else
  (void)registry;
  (void)out;
  return no_backplane_support();
#endif
}

void publish_from_member(channels::Registry& registry, std::string_view channel, MessageKind kind,
                         ByteView payload,
                         const std::function<void(std::string_view notice)>& tell_sender) {
  const channels::PublishResult result = registry.try_publish(channel, kind, payload);
  if (result.ok()) return;
  tell_sender("ws-demo: not delivered: " + result.error.message());
}

}  // namespace ws::examples
