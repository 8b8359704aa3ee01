// ws-echo's three I/O modes. Each listens, prints "listening on HOST:PORT"
// when ready, echoes text as text and binary as binary on any path, and on
// SIGINT/SIGTERM closes every connection with 1001 and returns 0.
#pragma once

#include "echo/echo_config.hpp"

namespace ws::examples {

int run_echo_threads(const EchoOptions& options);
int run_echo_epoll(const EchoOptions& options);
int run_echo_uring(const EchoOptions& options);
int run_echo_asio(const EchoOptions& options);

}  // namespace ws::examples
