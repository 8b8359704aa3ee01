// Linked instead of demo_uring.cpp when ws was built without liburing.
#include <cstdio>

#include "demo/demo_backends.hpp"

namespace ws::examples {

int run_demo_uring(const ServerOptions&) {
  std::fprintf(stderr,
               "ws-demo: --io uring: this build has no io_uring support (install liburing-dev)\n");
  return 1;
}

}  // namespace ws::examples
