// The 101 answer to a peer client's handshake (peer_api.hpp), computed with
// ws, so that Beast's and websocketpp's client connections can be opened
// against an in-memory stream.
#include <algorithm>
#include <string>
#include <string_view>

#include "compare/peer_api.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws_bench {

std::string switching_protocols_for(const std::string& request_head) {
  constexpr std::string_view name = "Sec-WebSocket-Key:";
  std::string key;
  for (std::size_t at = 0; at < request_head.size();) {
    const std::size_t end = request_head.find("\r\n", at);
    if (end == std::string::npos) break;
    std::string_view line(request_head.data() + at, end - at);
    if (line.size() > name.size()) {
      std::string lowered(line.substr(0, name.size()));
      std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                     [](char c) { return static_cast<char>(c | 0x20); });
      if (lowered == "sec-websocket-key:") {
        line.remove_prefix(name.size());
        while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        key = std::string(line);
      }
    }
    at = end + 2;
  }
  return "HTTP/1.1 101 Switching Protocols\r\n"
         "Upgrade: websocket\r\n"
         "Connection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         ws::compute_accept_key(key) + "\r\n\r\n";
}

}  // namespace ws_bench
