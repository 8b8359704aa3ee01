#include "ws/http2/error.hpp"

#include <string>

namespace ws::http2 {
namespace {

class Http2Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ws.http2"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::not_negotiated:
        return "the server did not agree to HTTP/2 (ALPN h2)";
      case errc::extended_connect_unsupported:
        return "the server takes no WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL)";
      case errc::stream_refused:
        return "the server refused the HTTP/2 stream";
      case errc::connection_failed:
        return "the HTTP/2 connection failed";
    }
    return "unknown HTTP/2 error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Http2Category category;
  return category;
}

}  // namespace ws::http2
