// Linked instead of echo_asio.cpp when ws was built without Asio/OpenSSL.
#include <cstdio>

#include "echo/echo_backends.hpp"

namespace ws::examples {

int run_echo_asio(const EchoOptions&) {
  std::fprintf(stderr,
               "ws-echo: this build has no Asio support (install libasio-dev and libssl-dev)\n");
  return 2;
}

}  // namespace ws::examples
