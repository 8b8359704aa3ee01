// The header block of one request stream as nghttp2 hands it over, field by
// field, kept within a size limit, and what it becomes: an extended CONNECT
// for the core (ws::ExtendedConnectRequest) or a plain request for the
// application's HTTP handler (ws::HttpHead). nghttp2 has already applied
// HTTP/2's own rules (pseudo-headers first and once, lower-case names, no
// connection-specific fields, :protocol only after
// SETTINGS_ENABLE_CONNECT_PROTOCOL).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ws/handshake/http_head.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws::http2::detail {

class RequestFields {
 public:
  explicit RequestFields(std::size_t max_size) : max_size_(max_size) {}

  /// One field; counted as HPACK counts (name, value, 32 bytes). Past the
  /// limit the fields are no longer kept and too_large() turns true.
  void add(std::string_view name, std::string_view value);
  bool too_large() const noexcept { return too_large_; }

  const std::string& method() const noexcept { return method_; }
  const std::optional<std::string>& protocol() const noexcept { return request_.protocol; }
  const std::string& path() const noexcept { return path_; }
  /// CONNECT with a :protocol (RFC 8441 4), whatever the protocol.
  bool is_extended_connect() const noexcept;
  /// Any CONNECT: a WebSocket or a refusal, never a plain HTTP request.
  bool is_connect() const noexcept { return method_ == "CONNECT"; }

  /// The request as the core validates it (Connection::server_for_stream).
  const ExtendedConnectRequest& connect_request() const noexcept { return request_; }
  /// The request as an HTTP/1.1 handler sees it: method, target (:path),
  /// version 2.0, the regular fields, and "host" from :authority when the
  /// request has no host field. Views into this object.
  HttpHead http_head() const;

 private:
  std::size_t max_size_;
  std::size_t size_ = 0;
  bool too_large_ = false;
  std::string method_;
  std::string path_;
  ExtendedConnectRequest request_;
};

}  // namespace ws::http2::detail
