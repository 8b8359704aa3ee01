#include "common/http2_setup.hpp"

#include <cstdio>
#include <string>

#if WS_HAVE_HTTP2
#include "ws/http2/server.hpp"
#endif

namespace ws::examples {

bool make_server_http2(const ServerOptions& options, const char* tool, bool log_requests,
                       DriverOptions& driver) {
  driver.socket_driver.reset();
  if (!options.http2) return true;
#if WS_HAVE_HTTP2
  http2::ServerSettings settings;
  if (log_requests) {
    settings.on_request = [](const http2::RequestSeen& seen) {
      std::printf("http2: connection=%llu stream=%d method=%.*s protocol=%.*s path=%.*s\n",
                  static_cast<unsigned long long>(seen.connection), static_cast<int>(seen.stream),
                  static_cast<int>(seen.method.size()), seen.method.data(),
                  static_cast<int>(seen.protocol.size()), seen.protocol.data(),
                  static_cast<int>(seen.path.size()), seen.path.data());
      std::fflush(stdout);
    };
  }
  driver.socket_driver = http2::server_protocols(std::move(settings));
  (void)tool;
  return true;
#else
  std::fprintf(stderr, "%s: --http2: built without nghttp2 (libnghttp2-dev)\n", tool);
  return false;
#endif
}

}  // namespace ws::examples
