// The client's check of the server's certificate (chain, expiry, host name
// or address) and the factories' errors for bad settings.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tls/tls_pair.hpp"
#include "ws/base/error.hpp"

namespace ws::test::tls {
namespace {

using ws::tls::errc;

ws::tls::ServerSettings server_with(const CertificateFiles& files) {
  auto settings = localhost_server();
  settings.certificate_file = files.certificate_file;
  settings.private_key_file = files.private_key_file;
  return settings;
}

// Runs the handshake and expects the client to refuse the certificate
// with `why` in its detail; the server hears the client's alert.
void expect_refused(TlsPair& pair, std::string_view why) {
  ASSERT_TRUE(pair.ok());
  EXPECT_FALSE(pair.handshake());
  EXPECT_EQ(pair.client->error(), errc::certificate_verify_failed);
  EXPECT_EQ(pair.client->error(), ws::condition::handshake_failed);
  EXPECT_NE(ws::tls::error_detail(*pair.client).find(why), std::string_view::npos)
      << ws::tls::error_detail(*pair.client);
  EXPECT_EQ(pair.server->error(), errc::handshake_failed);
  EXPECT_FALSE(ws::tls::error_detail(*pair.server).empty());
}

TEST(TlsVerification, CertificateFromAnUntrustedCaIsRefused) {
  TlsPair pair(trusting_client(), server_with(test_certificates().untrusted));
  expect_refused(pair, "unable to get local issuer certificate");
}

TEST(TlsVerification, ExpiredCertificateIsRefused) {
  TlsPair pair(trusting_client(), server_with(test_certificates().expired));
  expect_refused(pair, "certificate has expired");
}

TEST(TlsVerification, WrongHostNameIsRefused) {
  TlsPair pair(trusting_client(), localhost_server(), "example.com");
  expect_refused(pair, "hostname mismatch");
}

// The system store does not know the test CA.
TEST(TlsVerification, SystemStoreDoesNotTrustTheTestCa) {
  TlsPair pair(ws::tls::ClientSettings{}, localhost_server());
  expect_refused(pair, "unable to get local issuer certificate");
}

// An address literal is checked against the certificate's IP addresses
// (and sent without SNI); "[::1]" is the address ::1.
TEST(TlsVerification, AddressLiteralsAreCheckedAgainstIpAddresses) {
  for (const char* host : {"127.0.0.1", "[::1]", "::1"}) {
    TlsPair pair(trusting_client(), localhost_server(), host);
    ASSERT_TRUE(pair.ok());
    EXPECT_TRUE(pair.handshake()) << host << ": " << ws::tls::error_detail(*pair.client);
  }
  TlsPair other(trusting_client(), localhost_server(), "10.0.0.1");
  expect_refused(other, "IP address mismatch");
}

// insecure: no check at all (tests only).
TEST(TlsVerification, InsecureAcceptsAnyCertificate) {
  TlsPair pair(insecure_client(), server_with(test_certificates().untrusted), "example.com");
  ASSERT_TRUE(pair.ok());
  EXPECT_TRUE(pair.handshake());
  EXPECT_FALSE(pair.client->error());
}

TEST(TlsVerification, VerifyingClientNeedsAHostName) {
  auto factory = ws::tls::client_layer(trusting_client());
  ASSERT_TRUE(factory.has_value());
  EXPECT_EQ((*factory)->make(Role::client, "").error(), errc::missing_host_name);
  EXPECT_EQ((*factory)->make(Role::server, "localhost").error(), ws::errc::wrong_role);
  auto insecure = ws::tls::client_layer(insecure_client());
  ASSERT_TRUE(insecure.has_value());
  EXPECT_TRUE((*insecure)->make(Role::client, "").has_value());
}

TEST(TlsSettings, ServerFactoryMakesOnlyServerLayers) {
  auto factory = ws::tls::server_layer(localhost_server());
  ASSERT_TRUE(factory.has_value());
  EXPECT_EQ((*factory)->make(Role::client, "localhost").error(), ws::errc::wrong_role);
}

TEST(TlsSettings, MissingCertificateFileIsReportedWithItsName) {
  auto settings = localhost_server();
  settings.certificate_file = "/nonexistent/cert.pem";
  std::string detail;
  EXPECT_EQ(ws::tls::server_layer(settings, &detail).error(), errc::certificate_file);
  EXPECT_NE(detail.find("/nonexistent/cert.pem"), std::string::npos) << detail;
  settings.certificate_file.clear();
  EXPECT_EQ(ws::tls::server_layer(settings).error(), errc::certificate_file);
}

TEST(TlsSettings, MissingKeyFileIsReported) {
  auto settings = localhost_server();
  settings.private_key_file = "/nonexistent/key.pem";
  std::string detail;
  EXPECT_EQ(ws::tls::server_layer(settings, &detail).error(), errc::private_key_file);
  EXPECT_NE(detail.find("/nonexistent/key.pem"), std::string::npos) << detail;
}

TEST(TlsSettings, KeyOfAnotherCertificateIsReported) {
  auto settings = localhost_server();
  settings.private_key_file = test_certificates().other.private_key_file;
  std::string detail;
  EXPECT_EQ(ws::tls::server_layer(settings, &detail).error(), errc::key_mismatch);
  EXPECT_FALSE(detail.empty());
}

TEST(TlsSettings, NamedCertificateErrorsAreReported) {
  auto settings = localhost_server();
  settings.by_server_name.push_back({"", settings.certificate_file, settings.private_key_file});
  EXPECT_EQ(ws::tls::server_layer(settings).error(), errc::invalid_server_name);
  settings.by_server_name = {{"a.test", "/nonexistent", settings.private_key_file}};
  EXPECT_EQ(ws::tls::server_layer(settings).error(), errc::certificate_file);
}

TEST(TlsSettings, CaFileThatIsNotPemIsReported) {
  const std::string path = test_certificates().directory + "/garbage.pem";
  std::ofstream(path) << "not a certificate\n";
  auto settings = trusting_client();
  settings.ca_file = path;
  std::string detail;
  EXPECT_EQ(ws::tls::client_layer(settings, &detail).error(), errc::ca_file);
  EXPECT_NE(detail.find(path), std::string::npos) << detail;
  settings.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(ws::tls::client_layer(settings).error(), errc::ca_file);
}

TEST(TlsSettings, AlpnNamesMustBeOneTo255Bytes) {
  auto server = localhost_server();
  server.alpn = {"http/1.1", ""};
  EXPECT_EQ(ws::tls::server_layer(server).error(), errc::invalid_alpn);
  auto client = trusting_client();
  client.alpn = {std::string(256, 'a')};
  EXPECT_EQ(ws::tls::client_layer(client).error(), errc::invalid_alpn);
}

TEST(TlsSettings, ErrorsHaveMessagesAndTheTlsCategory) {
  const std::error_code error = errc::certificate_verify_failed;
  EXPECT_STREQ(error.category().name(), "ws.tls");
  EXPECT_FALSE(error.message().empty());
  EXPECT_EQ(std::error_code(errc::protocol_error), ws::condition::transport_failure);
  EXPECT_NE(std::error_code(errc::ca_file), ws::condition::handshake_failed);
}

}  // namespace
}  // namespace ws::test::tls
