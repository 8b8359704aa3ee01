// A server's answer to an upgrade request, shared by the blocking and the
// epoll adapters.
#pragma once

#include <string>
#include <vector>

#include "ws/handshake/http_head.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws::posix {

struct UpgradeDecision {
  bool accept = true;
  /// When accepting: subprotocols, extra headers ...
  AcceptOptions options{};
  /// When rejecting: the HTTP status (4xx/5xx), body and extra headers.
  int status = 403;
  std::string body{};
  std::vector<HeaderField> headers{};

  static UpgradeDecision accept_with(AcceptOptions options = {});
  static UpgradeDecision reject(int status, std::string body = {},
                                std::vector<HeaderField> headers = {});
};

/// The answer to a plain HTTP request on a port that also serves WebSocket.
struct HttpAnswer {
  int status = 404;
  std::string body{};
  std::vector<HeaderField> headers{};  // Content-Type, say; not Content-Length
};

}  // namespace ws::posix
