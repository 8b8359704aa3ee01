// Certificates for TLS tests, made in-process with the OpenSSL API (no
// openssl command, no files in the repository that could expire): a
// throwaway CA and leaves signed by it, written as PEM to a temporary
// directory that is removed when the process exits.
//
// Reusable by any test binary that links ws_tls_test_support.
#pragma once

#include <string>

namespace ws::test::tls {

struct CertificateFiles {
  std::string certificate_file;  // PEM, the leaf only
  std::string private_key_file;  // PEM, unencrypted (EC P-256)
};

struct TestCertificates {
  std::string directory;
  /// The test CA ("ws test CA"), to put in ClientSettings::ca_file.
  std::string ca_file;
  /// CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1; signed by the CA.
  CertificateFiles localhost;
  /// CN=other.test, SAN DNS:other.test, DNS:*.other.test; signed by the CA
  /// (the SNI certificate).
  CertificateFiles other;
  /// As `localhost`, signed by the CA, but expired yesterday.
  CertificateFiles expired;
  /// As `localhost`, signed by a second CA that no test trusts.
  CertificateFiles untrusted;
};

/// Made once per process (the first call, a few milliseconds); thread-safe.
/// Aborts the test program if OpenSSL cannot make or write them.
const TestCertificates& test_certificates();

}  // namespace ws::test::tls
