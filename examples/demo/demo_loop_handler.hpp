// What the loop-driven modes of ws-demo (epoll, io_uring) hand their
// server: one ws::Handler that serves the page and plain HTTP, routes
// upgrades to the channels or /echo, and publishes what members send.
#pragma once

#include "ws/channels/registry.hpp"
#include "ws/driver/handler.hpp"

namespace ws::examples {

/// Callbacks run on the loop thread; `registry` must outlive the server.
Handler demo_loop_handler(channels::Registry& registry);

}  // namespace ws::examples
