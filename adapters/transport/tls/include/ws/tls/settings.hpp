// What a TLS server or client is configured with. Plain data: copied into
// the factory (server_layer, client_layer), which loads every file once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ws::tls {

/// The oldest protocol version a side accepts. TLS 1.0 and 1.1 are not
/// offered (RFC 8996).
enum class Version : std::uint8_t { tls1_2, tls1_3 };

/// A certificate served to clients that ask for `server_name` (SNI).
struct NamedCertificate {
  /// A host name ("api.example.com", matched without regard to case) or a
  /// wildcard "*.example.com", which matches exactly one label in front of
  /// the suffix ("a.example.com", not "example.com" nor "a.b.example.com").
  /// Exact names win over wildcards; the first matching entry is used.
  std::string server_name;
  /// PEM: the leaf first, then its intermediates (a "fullchain.pem").
  std::string certificate_file;
  /// PEM, unencrypted.
  std::string private_key_file;
};

struct ServerSettings {
  /// PEM chain and key served when no NamedCertificate matches (or the
  /// client sent no server name).
  std::string certificate_file;
  std::string private_key_file;
  /// Application protocols (ALPN), in the server's order of preference: the
  /// first of them the client offers is selected. A client offering none of
  /// them gets no ALPN answer and the handshake goes on (RFC 7301 allows a
  /// no_application_protocol alert instead; refusing is left to whoever
  /// reads selected_protocol()). Empty: ALPN is ignored.
  std::vector<std::string> alpn{"http/1.1"};
  /// SNI: certificates by server name.
  std::vector<NamedCertificate> by_server_name;
  Version min_version = Version::tls1_2;
};

struct ClientSettings {
  /// PEM file of the certificate authorities trusted; empty: the system's
  /// store (OpenSSL's default paths, /etc/ssl/certs on Debian).
  std::string ca_file;
  /// Tests only: the server's certificate is not checked at all (chain,
  /// expiry, host name). Never in production: anyone on the path can then
  /// read and change the traffic.
  bool insecure = false;
  /// Application protocols offered (ALPN), in order; empty: none.
  std::vector<std::string> alpn;
  Version min_version = Version::tls1_2;
};

}  // namespace ws::tls
