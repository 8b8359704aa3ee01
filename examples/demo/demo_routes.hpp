// What ws-demo does with each request, whatever the I/O mode: GET / is the
// page, /channel/<name> joins a channel, /echo echoes, the rest is refused.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ws/handshake/http_head.hpp"

namespace ws::examples {

struct DemoHttpAnswer {
  int status = 404;
  std::string body;
  std::vector<HeaderField> headers;
};

/// The answer to a plain HTTP request (not an upgrade).
DemoHttpAnswer answer_plain_http(std::string_view method, std::string_view target);

/// Where an upgrade goes.
struct DemoRoute {
  enum class Kind { channel, echo, refused } kind = Kind::refused;
  std::string channel;     // for Kind::channel
  DemoHttpAnswer refusal;  // for Kind::refused: 400 before any upgrade
};
DemoRoute route_upgrade(std::string_view target);

}  // namespace ws::examples
