#include "ws/uring/resilient_client.hpp"

#include <utility>

namespace ws::uring {

std::shared_ptr<ResilientClient> start_resilient(UringLoop& loop, std::string url, Handler handler,
                                                 ResilienceEvents events,
                                                 ResilientOptions resilience,
                                                 UringClientOptions options) {
  ClientHandshakeOptions handshake = options.handshake;
  ResilientClient::Hooks hooks;
  hooks.connect = [&loop, options = std::move(options)](const ConnectTarget& target,
                                                        Handler connection_handler) {
    UringClientOptions these = options;
    these.handshake = target.handshake;
    const UringClient client(loop, std::move(these));
    const Result<SessionPtr> started = client.connect(target.url, std::move(connection_handler));
    return started ? std::error_code{} : started.error();
  };
  hooks.wait = [&loop](Duration delay, std::function<void()> then) {
    loop.post_after(delay, std::move(then));
  };
  hooks.post = [&loop](std::function<void()> task) { loop.post(std::move(task)); };
  std::shared_ptr<ResilientClient> client =
      ResilientClient::make(std::move(url), std::move(handshake), std::move(handler),
                            std::move(events), std::move(resilience), std::move(hooks));
  loop.post([weak = std::weak_ptr<ResilientClient>(client)] {
    if (const auto self = weak.lock()) self->start();
  });
  return client;
}

}  // namespace ws::uring
