// ws-client's redirects (--max-redirects) and reconnection (--reconnect)
// over --io threads, epoll, uring and asio: ws::ResilientClient with standard
// input lines kept until a connection takes them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "ws/driver/driver.hpp"
#include "ws/event.hpp"

namespace ws_client {

struct ResilienceArguments {
  std::uint32_t max_redirects = 5;
  bool reconnect = false;
};

/// How the last connection ended, for the exit status: the status of a
/// refusal that was not followed (0: none), the Closed event (none when no
/// connection was made), its reason, and the error of a failed connect.
using ExitStatus = std::function<int(int rejected_status, const std::optional<ws::Closed>& closed,
                                     const std::string& reason, std::error_code error)>;

/// Runs the interactive client on `io` ("threads", "epoll", "uring" or
/// "asio"):
/// each standard-input line goes out as a text message, each received
/// message goes to `print`. A line that no connection took yet waits for
/// the next one; at the end of input the client closes with 1000 once
/// every line went out. With reconnect, one line on standard error per
/// attempt ("ws-client: reconnecting in 0.37 s (attempt 2): closed with
/// 1006"). Returns the exit status.
int run_resilient(const std::string& url, const ws::ClientOptions& options, std::string_view io,
                  const ResilienceArguments& resilience,
                  const std::function<void(const ws::Message&)>& print,
                  const ExitStatus& exit_status);

}  // namespace ws_client
