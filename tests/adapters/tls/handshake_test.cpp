// A ws::tls client layer and server layer, pumped in memory: the handshake,
// data both ways, record coalescing, ALPN and SNI.
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <gtest/gtest.h>

#include <string>

#include "tls/tls_pair.hpp"

namespace ws::test::tls {
namespace {

std::string peer_common_name(const StreamLayer& layer) {
  X509* certificate = SSL_get0_peer_certificate(ws::tls::native_handle(layer));
  if (certificate == nullptr) return {};
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, name, sizeof name);
  return name;
}

// Counts the TLS records in `layer`'s pending wire bytes (5-byte headers).
int pending_records(StreamLayer& layer) {
  std::string wire;
  for (const OutputBuffer& piece : layer.pending_wire()) {
    wire.append(reinterpret_cast<const char*>(piece.data), piece.size);
  }
  int records = 0;
  for (std::size_t at = 0; at + 5 <= wire.size(); ++records) {
    const std::size_t length =
        (std::size_t(std::uint8_t(wire[at + 3])) << 8) | std::uint8_t(wire[at + 4]);
    at += 5 + length;
  }
  return records;
}

// The client speaks first: its ClientHello waits in pending_wire() as soon
// as the layer exists, before any wire byte came in.
TEST(TlsHandshake, ClientHelloIsPendingOnceTheClientLayerIsMade) {
  auto client = make_layer(trusting_client());
  ASSERT_NE(client, nullptr);
  EXPECT_GT(client->pending_wire_size(), 0u);
  EXPECT_FALSE(client->handshake_done());
  auto server = make_layer(localhost_server());
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->pending_wire_size(), 0u);
}

// Both layers complete the handshake with TLS 1.3 and no error, and the
// client checked the server's certificate against the test CA.
TEST(TlsHandshake, CompletesInMemory) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  EXPECT_FALSE(pair.client->error());
  EXPECT_FALSE(pair.server->error());
  EXPECT_EQ(SSL_version(ws::tls::native_handle(*pair.client)), TLS1_3_VERSION);
  EXPECT_EQ(SSL_get_verify_result(ws::tls::native_handle(*pair.client)), X509_V_OK);
  EXPECT_EQ(peer_common_name(*pair.client), "localhost");
  EXPECT_TRUE(ws::tls::error_detail(*pair.client).empty());
}

// StreamLayer::write: 0 while the layer's own handshake is not done.
TEST(TlsHandshake, WriteBeforeTheHandshakeTakesNothing) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  const std::size_t hello = pair.client->pending_wire_size();
  EXPECT_EQ(write_text(*pair.client, "early"), 0u);
  EXPECT_EQ(pair.client->pending_wire_size(), hello);  // nothing encrypted
  EXPECT_EQ(write_text(*pair.server, "early"), 0u);
  ASSERT_TRUE(pair.handshake());
  EXPECT_EQ(write_text(*pair.client, "late"), 4u);
}

TEST(TlsHandshake, DataFlowsBothWays) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  ASSERT_EQ(write_text(*pair.client, "hello server"), 12u);
  ASSERT_EQ(write_text(*pair.server, "hello client"), 12u);
  pair.pump();
  EXPECT_EQ(pair.server_received, "hello server");
  EXPECT_EQ(pair.client_received, "hello client");
}

// 1 MiB written in odd-sized pieces, carried in odd-sized wire pieces and
// read into odd-sized buffers, arrives whole and in order.
TEST(TlsHandshake, OneMebibyteInOddPiecesArrivesIntact) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  std::string sent(1024 * 1024, '\0');
  for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = char((i * 7919 + i / 4099) & 0xff);
  const std::size_t sizes[] = {1, 7, 1000, 4099, 16383, 16384, 16385, 65537, 3};
  std::size_t written = 0;
  std::string received;
  for (int turn = 0; written < sent.size() || pair.client->pending_wire_size() > 0; ++turn) {
    ASSERT_LT(turn, 100000);
    // Several pieces per write() call, as a Connection's pending output.
    std::vector<OutputBuffer> pieces;
    std::size_t at = written;
    for (int k = 0; k < 4 && at < sent.size(); ++k) {
      const std::size_t n = std::min(sizes[(turn + k) % 9], sent.size() - at);
      pieces.push_back({reinterpret_cast<const std::byte*>(sent.data() + at), n});
      at += n;
    }
    written += pair.client->write(pieces);
    transfer(*pair.client, *pair.server, 1 + (std::size_t(turn) * 997) % 5000);
    read_into(*pair.server, received, 1 + (std::size_t(turn) * 331) % 20000);
  }
  read_into(*pair.server, received);
  EXPECT_EQ(received.size(), sent.size());
  EXPECT_TRUE(received == sent);
  EXPECT_FALSE(pair.server->error());
}

// A WebSocket frame is a header and a payload, two pieces: they share one
// record (one header, one tag), not two.
TEST(TlsHandshake, SmallPiecesShareOneRecord) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  ASSERT_EQ(pair.server->pending_wire_size(), 0u);
  const std::string header("\x81\x64", 2);
  const std::string payload(100, 'x');
  const OutputBuffer pieces[] = {
      {reinterpret_cast<const std::byte*>(header.data()), header.size()},
      {reinterpret_cast<const std::byte*>(payload.data()), payload.size()}};
  EXPECT_EQ(pair.server->write(pieces), 102u);
  EXPECT_EQ(pending_records(*pair.server), 1);
  // 40 KiB in one piece: three records of at most 16 KiB of plaintext.
  pair.pump();
  const std::string big(40 * 1024, 'y');
  EXPECT_EQ(write_text(*pair.server, big), big.size());
  EXPECT_EQ(pending_records(*pair.server), 3);
  pair.pump();
  EXPECT_EQ(pair.client_received, header + payload + big);
}

// ALPN (RFC 7301): the server selects the first of its own protocols that
// the client offers, whatever the client's order.
TEST(TlsAlpn, ServerPicksItsFirstProtocolTheClientOffers) {
  auto server = localhost_server();
  server.alpn = {"h2", "http/1.1"};
  auto client = trusting_client();
  client.alpn = {"http/1.1", "h2"};
  TlsPair pair(client, server);
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  EXPECT_EQ(pair.server->selected_protocol(), "h2");
  EXPECT_EQ(pair.client->selected_protocol(), "h2");
}

TEST(TlsAlpn, DefaultServerSelectsHttp11) {
  auto client = trusting_client();
  client.alpn = {"h2", "http/1.1"};
  TlsPair pair(client, localhost_server());
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  EXPECT_EQ(pair.client->selected_protocol(), "http/1.1");
}

// A client offering only protocols the server does not know gets no ALPN;
// the handshake is not refused.
TEST(TlsAlpn, NothingInCommonMeansNoProtocolAndNoFailure) {
  auto client = trusting_client();
  client.alpn = {"spdy/3", "imap"};
  TlsPair pair(client, localhost_server());
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  EXPECT_FALSE(pair.client->error());
  EXPECT_EQ(pair.server->selected_protocol(), "");
  EXPECT_EQ(pair.client->selected_protocol(), "");
}

TEST(TlsAlpn, NoOfferMeansNoProtocol) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  EXPECT_EQ(pair.server->selected_protocol(), "");
  EXPECT_EQ(pair.client->selected_protocol(), "");
}

TEST(TlsAlpn, ServerWithoutAlpnIgnoresTheOffer) {
  auto server = localhost_server();
  server.alpn.clear();
  auto client = trusting_client();
  client.alpn = {"http/1.1"};
  TlsPair pair(client, server);
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  EXPECT_EQ(pair.client->selected_protocol(), "");
}

ws::tls::ServerSettings server_with_named_certificate(std::string name) {
  auto settings = localhost_server();
  const auto& other = test_certificates().other;
  settings.by_server_name.push_back(
      {std::move(name), other.certificate_file, other.private_key_file});
  settings.alpn = {"http/1.1"};
  return settings;
}

// SNI: a client asking for a named server gets that name's certificate
// (and verifies it for that name).
TEST(TlsSni, ServerNameSelectsTheNamedCertificate) {
  auto client = trusting_client();
  client.alpn = {"http/1.1"};
  TlsPair pair(client, server_with_named_certificate("Other.Test"), "other.test");
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake()) << ws::tls::error_detail(*pair.client);
  EXPECT_EQ(peer_common_name(*pair.client), "other.test");
  // The named context answers ALPN too.
  EXPECT_EQ(pair.server->selected_protocol(), "http/1.1");
}

// "*.other.test" matches one label: a.other.test, not a.b.other.test.
TEST(TlsSni, WildcardMatchesOneLabel) {
  TlsPair one(insecure_client(), server_with_named_certificate("*.other.test"), "a.other.test");
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE(one.handshake());
  EXPECT_EQ(peer_common_name(*one.client), "other.test");
  TlsPair two(insecure_client(), server_with_named_certificate("*.other.test"), "a.b.other.test");
  ASSERT_TRUE(two.ok());
  ASSERT_TRUE(two.handshake());
  EXPECT_EQ(peer_common_name(*two.client), "localhost");
}

// A name the server has no certificate for, or none at all (an address):
// the default certificate.
TEST(TlsSni, OtherNamesGetTheDefaultCertificate) {
  TlsPair named(trusting_client(), server_with_named_certificate("other.test"), "localhost");
  ASSERT_TRUE(named.ok());
  ASSERT_TRUE(named.handshake());
  EXPECT_EQ(peer_common_name(*named.client), "localhost");
  TlsPair address(trusting_client(), server_with_named_certificate("other.test"), "127.0.0.1");
  ASSERT_TRUE(address.ok());
  ASSERT_TRUE(address.handshake()) << ws::tls::error_detail(*address.client);
  EXPECT_EQ(peer_common_name(*address.client), "localhost");
  EXPECT_EQ(SSL_get_servername(ws::tls::native_handle(*address.server), TLSEXT_NAMETYPE_host_name),
            nullptr);
}

}  // namespace
}  // namespace ws::test::tls
