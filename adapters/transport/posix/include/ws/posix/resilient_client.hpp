// A client that follows redirects and reconnects (ws::ResilientClient,
// ws/driver/resilient_client.hpp) on the POSIX transports: the epoll loop
// and blocking threads. Each connection is an ordinary EpollClient or
// ws::posix::connect() connection with the same options; only the URL and
// the request options change (a redirect's target, credentials dropped
// across origins).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "ws/driver/resilient_client.hpp"
#include "ws/posix/blocking.hpp"
#include "ws/posix/epoll_client.hpp"
#include "ws/posix/epoll_loop.hpp"

namespace ws::posix {

/// Epoll: connects to `url` on `loop` (the first connect is posted to the
/// loop thread) and keeps connecting as `resilience` says. Call it from any
/// thread; callbacks and events run on the loop thread; the waits are
/// timers of the loop. The loop must outlive the client, and the returned
/// client is destroyed on the loop thread or after run() returned (it owns
/// an EpollWatch). stop() ends it (on_gave_up follows on the loop thread).
/// Each connect resolves its host on the loop thread (EpollClient::connect
/// uses getaddrinfo): a slow name server stalls the loop meanwhile.
std::shared_ptr<ResilientClient> start_resilient(EpollLoop& loop, std::string url, Handler handler,
                                                 ResilienceEvents events,
                                                 ResilientOptions resilience,
                                                 EpollClientOptions options = {});

/// Blocking threads: the connections run one after another on the thread
/// that calls run(), which waits between them (a stop() ends the wait).
class BlockingResilientClient {
 public:
  BlockingResilientClient(std::string url, Handler handler, ResilienceEvents events,
                          ResilientOptions resilience, BlockingClientOptions options = {});
  ~BlockingResilientClient();
  BlockingResilientClient(const BlockingResilientClient&) = delete;
  BlockingResilientClient& operator=(const BlockingResilientClient&) = delete;

  /// Runs until the client gives up; returns why (the event on_gave_up
  /// also had). Once only.
  GaveUpEvent run();
  /// Any thread: no further connection (ResilientClient::stop()).
  void stop();
  /// Any thread: the open session, or null.
  SessionPtr session() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::shared_ptr<ResilientClient> client_;
};

}  // namespace ws::posix
