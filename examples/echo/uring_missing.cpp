// Linked instead of echo_uring.cpp when ws was built without liburing.
#include <cstdio>

#include "echo/echo_backends.hpp"

namespace ws::examples {

int run_echo_uring(const EchoOptions&) {
  std::fprintf(stderr,
               "ws-echo: --io uring: this build has no io_uring support (install liburing-dev)\n");
  return 1;
}

}  // namespace ws::examples
