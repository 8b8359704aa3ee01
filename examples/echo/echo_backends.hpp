// ws-echo's three I/O modes. Each listens, prints "listening on HOST:PORT"
// when ready, echoes text as text and binary as binary on any path, and on
// SIGINT/SIGTERM closes every connection with 1001 and returns 0.
#pragma once

#include "common/server_options.hpp"

namespace ws::examples {

int run_echo_threads(const ServerOptions& options);
int run_echo_epoll(const ServerOptions& options);
int run_echo_asio(const ServerOptions& options);

}  // namespace ws::examples
