#include "ws/proxy/error.hpp"

#include <string>

#include "ws/base/error.hpp"

namespace ws::proxy {
namespace {

class ProxyCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ws.proxy"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_proxy_url:
        return "invalid proxy URL";
      case errc::unsupported_proxy_scheme:
        return "unsupported proxy scheme (http, socks5 and socks5h are supported)";
      case errc::invalid_target:
        return "the host to reach through the proxy is not a valid name or address";
      case errc::invalid_credentials:
        return "the proxy credentials cannot be sent in this protocol";
      case errc::http_refused:
        return "the HTTP proxy refused the CONNECT request";
      case errc::authentication_required:
        return "the proxy requires authentication and no credentials were given";
      case errc::authentication_failed:
        return "the proxy refused the credentials";
      case errc::no_acceptable_method:
        return "the SOCKS5 proxy accepted no offered authentication method";
      // RFC 1928 6, the text of each reply code.
      case errc::socks_general_failure:
        return "SOCKS5: general SOCKS server failure";
      case errc::socks_not_allowed:
        return "SOCKS5: connection not allowed by ruleset";
      case errc::socks_network_unreachable:
        return "SOCKS5: Network unreachable";
      case errc::socks_host_unreachable:
        return "SOCKS5: Host unreachable";
      case errc::socks_connection_refused:
        return "SOCKS5: Connection refused";
      case errc::socks_ttl_expired:
        return "SOCKS5: TTL expired";
      case errc::socks_command_not_supported:
        return "SOCKS5: Command not supported";
      case errc::socks_address_type_not_supported:
        return "SOCKS5: Address type not supported";
      case errc::socks_refused:
        return "SOCKS5: the proxy refused the connection (unassigned reply code)";
      case errc::malformed_reply:
        return "the proxy's answer is malformed";
      case errc::eof_in_handshake:
        return "the stream ended before the proxy tunnel was up";
      case errc::response_too_large:
        return "the HTTP proxy's response head is too large";
    }
    return "unknown proxy error";
  }

  // A tunnel that did not come up is a failed opening handshake, so code
  // that sorts failures by ws::condition needs no proxy case. Settings
  // errors are the caller's and keep their own condition.
  std::error_condition default_error_condition(int value) const noexcept override {
    if (value >= static_cast<int>(errc::http_refused) &&
        value <= static_cast<int>(errc::response_too_large)) {
      return make_error_condition(ws::condition::handshake_failed);
    }
    return {value, *this};
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const ProxyCategory category;
  return category;
}

}  // namespace ws::proxy
