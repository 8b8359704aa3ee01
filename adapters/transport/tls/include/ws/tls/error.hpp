// Errors of ws::tls: one enum and its std::error_category ("ws.tls").
//
// Building a context (server_layer, client_layer) fails with the first
// group; a connection's layer reports the second through
// StreamLayer::error(). OpenSSL's own text for a failure (the reason of
// the first error on its queue, the certificate check's verdict) is given
// separately: the `detail` out-parameter of the factories, error_detail()
// for a layer.
#pragma once

#include <system_error>
#include <type_traits>

namespace ws::tls {

/// Values are stable; append only.
enum class errc : int {
  // ---- Building a context -------------------------------------------------
  // The certificate (chain) file is missing, unreadable or not PEM.
  certificate_file = 1,
  // The private key file is missing, unreadable, encrypted or not PEM.
  private_key_file,
  // The private key does not belong to the certificate.
  key_mismatch,
  // The CA file (or the system store) could not be loaded.
  ca_file,
  // An ALPN protocol name is empty or longer than 255 bytes.
  invalid_alpn,
  // A NamedCertificate has no server name.
  invalid_server_name,
  // OpenSSL could not make a context (out of memory).
  context_failed,
  // ---- Making a layer -----------------------------------------------------
  // A client that verifies the server was given no host name to verify.
  missing_host_name,
  // ---- A connection (StreamLayer::error) ------------------------------------
  // The TLS handshake failed: no protocol version or cipher in common, an
  // alert from the peer, bytes that are not TLS (plain HTTP to a TLS port).
  handshake_failed,
  // Client: the server's certificate was refused (untrusted, expired, not
  // for this host). error_detail() says why (X509_verify_cert_error_string).
  certificate_verify_failed,
  // The stream ended (receive_wire_eof) before the TLS handshake completed.
  eof_in_handshake,
  // After the handshake: a malformed or undecryptable record, a fatal alert
  // from the peer, a refused renegotiation the peer insisted on.
  protocol_error,
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc error) noexcept {
  return {static_cast<int>(error), error_category()};
}

}  // namespace ws::tls

namespace std {
template <>
struct is_error_code_enum<ws::tls::errc> : true_type {};
}  // namespace std
