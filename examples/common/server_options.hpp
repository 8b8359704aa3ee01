// Command-line options shared by ws-echo and ws-demo.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws::examples {

enum class Io { threads, epoll, uring, asio };

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  Io io = Io::epoll;
  std::uint64_t max_message = 16 * 1024 * 1024;
  std::optional<std::string> tls_certificate;
  std::optional<std::string> tls_key;
  /// --http2: HTTP/2 (RFC 8441 WebSockets) beside HTTP/1.1 on the port.
  bool http2 = false;
};

/// Parses the next option of argv at `index` into `options` for the flags
/// both servers share (--host, --port, --io, --max-message, --tls CERT KEY,
/// --http2). Returns false with `error` set when an option is malformed; advances `index` past what
/// it used; returns true with `used` false for an option it does not know.
bool parse_common_option(std::vector<std::string_view>& args, std::size_t& index,
                         ServerOptions& options, bool& used, std::string& error);

/// "HOST:PORT", with an IPv6 host in brackets.
std::string host_port(std::string_view host, std::uint16_t port);

}  // namespace ws::examples
