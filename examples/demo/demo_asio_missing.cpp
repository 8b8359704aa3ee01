// Linked instead of demo_asio.cpp when ws was built without Asio/OpenSSL.
#include <cstdio>

#include "demo/demo_backends.hpp"

namespace ws::examples {

int run_demo_asio(const ServerOptions&) {
  std::fprintf(stderr,
               "ws-demo: this build has no Asio support (install libasio-dev and libssl-dev)\n");
  return 2;
}

}  // namespace ws::examples
