#include "ws/redis/backplane.hpp"

#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <thread>

#include "engine.hpp"
#include "epoll_driver.hpp"
#include "ws/posix/epoll_loop.hpp"

namespace ws::redis {

Result<RedisEndpoint> parse_redis_url(std::string_view url) {
  const std::error_code invalid = std::make_error_code(std::errc::invalid_argument);
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) != scheme) return invalid;
  std::string_view rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  RedisEndpoint endpoint;
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return invalid;
    endpoint.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return invalid;
      port_text = rest.substr(1);
    }
  } else {
    const std::size_t colon = rest.rfind(':');
    endpoint.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (endpoint.host.empty() || endpoint.host.find_first_of("/@?") != std::string::npos) {
    return invalid;
  }
  if (!port_text.empty() || rest.find(':') != std::string_view::npos) {
    unsigned port = 0;
    const auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return invalid;
    }
    endpoint.port = static_cast<std::uint16_t>(port);
  }
  return endpoint;
}

RedisBackplane::RedisBackplane(channels::Registry& registry, std::shared_ptr<detail::Engine> engine,
                               std::function<void()> stop_thread)
    : registry_(registry), engine_(std::move(engine)), stop_thread_(std::move(stop_thread)) {
  registry_.set_backplane(this);
  engine_->start();
}

RedisBackplane::~RedisBackplane() {
  registry_.set_backplane(nullptr);  // waits for publishes in progress
  if (stop_thread_) stop_thread_();  // shuts the engine down on its thread
  engine_->shutdown();               // no-op after stop_thread_
  engine_.reset();
}

channels::PublishResult RedisBackplane::publish(std::string_view channel, MessageKind kind,
                                                ByteView payload) {
  return engine_->publish(channel, kind, payload);
}

void RedisBackplane::subscribe(std::string_view channel) {
  engine_->change_subscription(channel, true);
}

bool RedisBackplane::assigns_positions() const noexcept { return engine_->streams(); }

void RedisBackplane::fetch_since(std::string_view channel, std::uint64_t ticket,
                                 std::optional<channels::Position> since) {
  engine_->fetch_since(channel, ticket, since);
}

void RedisBackplane::unsubscribe(std::string_view channel) {
  engine_->change_subscription(channel, false);
}

RedisBackplaneStats RedisBackplane::stats() const { return engine_->stats(); }

std::unique_ptr<RedisBackplane> RedisBackplane::on_epoll(posix::EpollLoop& loop,
                                                         channels::Registry& registry,
                                                         RedisBackplaneOptions options) {
  auto engine = std::make_shared<detail::Engine>(detail::make_epoll_driver(loop), registry,
                                                 std::move(options));
  return std::make_unique<RedisBackplane>(registry, std::move(engine), nullptr);
}

namespace {

struct OwnThread {
  posix::EpollLoop loop;
  std::thread thread;
};

}  // namespace

std::unique_ptr<RedisBackplane> RedisBackplane::on_own_thread(channels::Registry& registry,
                                                              RedisBackplaneOptions options) {
  auto own = std::make_shared<OwnThread>();
  auto engine = std::make_shared<detail::Engine>(detail::make_epoll_driver(own->loop), registry,
                                                 std::move(options));
  std::function<void()> stop = [own, weak = std::weak_ptr<detail::Engine>(engine)] {
    own->loop.post([own_raw = own.get(), weak] {
      if (const std::shared_ptr<detail::Engine> alive = weak.lock()) alive->shutdown();
      own_raw->loop.stop();
    });
    if (own->thread.joinable()) own->thread.join();
  };
  auto backplane = std::make_unique<RedisBackplane>(registry, std::move(engine), std::move(stop));
  // The thread takes no process signals (it starts with all blocked), so a
  // server's SIGTERM handling keeps working however it is set up.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  own->thread = std::thread([raw = own.get()] { (void)raw->loop.run(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return backplane;
}

}  // namespace ws::redis
