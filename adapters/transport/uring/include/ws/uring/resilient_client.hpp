// A client that follows redirects and reconnects (ws::ResilientClient,
// ws/driver/resilient_client.hpp) on the io_uring loop: each connection is
// an ordinary UringClient connection with the same options (only the URL
// and the request options change), and the waits are
// UringLoop::post_after timers.
#pragma once

#include <memory>
#include <string>

#include "ws/driver/resilient_client.hpp"
#include "ws/uring/uring_client.hpp"
#include "ws/uring/uring_loop.hpp"

namespace ws::uring {

/// Connects to `url` on `loop` (the first connect is posted to the loop
/// thread) and keeps connecting as `resilience` says. Any thread; callbacks
/// and events run on the loop thread. The loop must outlive the client.
/// stop() ends it (on_gave_up follows on the loop thread).
std::shared_ptr<ResilientClient> start_resilient(UringLoop& loop, std::string url, Handler handler,
                                                 ResilienceEvents events,
                                                 ResilientOptions resilience,
                                                 UringClientOptions options = {});

}  // namespace ws::uring
