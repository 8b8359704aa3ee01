#pragma once

#include "common/server_options.hpp"

namespace ws::examples {

// Each serves the page and the channels on one port, prints the page's URL
// when ready, and on SIGINT/SIGTERM closes every connection with 1001.
int run_demo_epoll(const ServerOptions& options);
int run_demo_uring(const ServerOptions& options);
int run_demo_threads(const ServerOptions& options);
int run_demo_asio(const ServerOptions& options);

}  // namespace ws::examples
