#include "ws/tls/error.hpp"

#include <string>

#include "ws/base/error.hpp"

namespace ws::tls {
namespace {

class TlsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ws.tls"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::certificate_file:
        return "the TLS certificate file could not be loaded";
      case errc::private_key_file:
        return "the TLS private key file could not be loaded";
      case errc::key_mismatch:
        return "the TLS private key does not match the certificate";
      case errc::ca_file:
        return "the trusted certificate authorities could not be loaded";
      case errc::invalid_alpn:
        return "an ALPN protocol name is empty or longer than 255 bytes";
      case errc::invalid_server_name:
        return "a certificate by server name has no server name";
      case errc::context_failed:
        return "OpenSSL could not make a TLS context";
      case errc::missing_host_name:
        return "a verifying TLS client needs the server's host name";
      case errc::handshake_failed:
        return "the TLS handshake failed";
      case errc::certificate_verify_failed:
        return "the TLS peer's certificate was refused";
      case errc::eof_in_handshake:
        return "the stream ended during the TLS handshake";
      case errc::protocol_error:
        return "TLS protocol error";
    }
    return "unknown TLS error";
  }

  // So that `error == ws::condition::handshake_failed` holds for a TLS
  // handshake that failed, and transport_failure for a broken record
  // stream: code that sorts failures by ws::condition needs no TLS case.
  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<errc>(value)) {
      case errc::handshake_failed:
      case errc::certificate_verify_failed:
      case errc::eof_in_handshake:
        return make_error_condition(ws::condition::handshake_failed);
      case errc::protocol_error:
        return make_error_condition(ws::condition::transport_failure);
      default:
        return {value, *this};
    }
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const TlsCategory category;
  return category;
}

}  // namespace ws::tls
