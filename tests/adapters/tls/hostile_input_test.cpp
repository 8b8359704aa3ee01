// What a hostile or confused peer can do to a ws::tls server layer: bytes
// that are not TLS, random bytes, a renegotiation, a flood nobody reads.
// Every case ends in an error or in waiting, with bounded memory.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tls/tls_pair.hpp"
#include "ws/base/error.hpp"

namespace ws::test::tls {
namespace {

using ws::tls::errc;

// Two whole TLS 1.2 records (RFC 5246 6.2.3: 5 + 2^14 + 2048 bytes each).
constexpr std::size_t wire_input_limit = 2 * (5 + 16384 + 2048);

const std::shared_ptr<const StreamLayerFactory>& server_factory() {
  static const auto factory = *ws::tls::server_layer(localhost_server());
  return factory;
}

std::unique_ptr<StreamLayer> new_server() {
  return std::move(*server_factory()->make(Role::server, ""));
}

std::size_t read_input_held(const StreamLayer& layer) {
  return BIO_ctrl_pending(SSL_get_rbio(ws::tls::native_handle(layer)));
}

// Someone speaking plain HTTP to the TLS port: a handshake error (OpenSSL
// recognises it: "http request"), an alert pending at most, no crash.
TEST(TlsHostileInput, PlainHttpFailsTheHandshake) {
  auto server = new_server();
  const std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n";
  ASSERT_EQ(server->receive_wire(as_bytes(request)), request.size());
  std::string decoded;
  read_into(*server, decoded);
  EXPECT_EQ(decoded, "");
  EXPECT_EQ(server->error(), errc::handshake_failed);
  EXPECT_NE(ws::tls::error_detail(*server).find("http request"), std::string_view::npos)
      << ws::tls::error_detail(*server);
  EXPECT_LT(server->pending_wire_size(), 64u);  // an alert record at most
  EXPECT_EQ(server->wire_room(), 0u);           // nothing more is taken
  EXPECT_EQ(write_text(*server, "x"), 0u);
}

// Property: whatever bytes arrive, in whatever pieces, the server layer does
// not crash, decodes nothing (there is no session), takes no more than
// wire_room(), keeps its output bounded and ends in an error or waiting.
RC_GTEST_PROP(TlsHostileInput, AnyBytesEndInErrorOrWaiting,
              (const std::vector<std::vector<std::uint8_t>>& pieces)) {
  auto server = new_server();
  for (const auto& piece : pieces) {
    const std::size_t room = server->wire_room();
    const std::size_t taken = server->receive_wire(
        ByteView(reinterpret_cast<const std::byte*>(piece.data()), piece.size()));
    RC_ASSERT(taken <= room);
    std::string decoded;
    read_into(*server, decoded);
    RC_ASSERT(decoded.empty());
    RC_ASSERT(server->pending_wire_size() <= 64u * 1024);
    RC_ASSERT(read_input_held(*server) <= wire_input_limit);
  }
  RC_ASSERT(server->error() || !server->handshake_done());
}

// The same past the record layer: a real ClientHello's first record header
// with a random body, then random records.
RC_GTEST_PROP(TlsHostileInput, RandomHandshakeRecordsEndInErrorOrWaiting,
              (const std::vector<std::vector<std::uint8_t>>& bodies)) {
  auto server = new_server();
  for (const auto& body : bodies) {
    const std::size_t length = std::min<std::size_t>(body.size(), 16384);
    std::vector<std::uint8_t> record{0x16, 0x03, 0x01, std::uint8_t(length >> 8),
                                     std::uint8_t(length & 0xff)};
    record.insert(record.end(), body.begin(), body.begin() + std::ptrdiff_t(length));
    (void)server->receive_wire(
        ByteView(reinterpret_cast<const std::byte*>(record.data()), record.size()));
    std::string decoded;
    read_into(*server, decoded);
    RC_ASSERT(decoded.empty());
    RC_ASSERT(server->pending_wire_size() <= 64u * 1024);
  }
  RC_ASSERT(server->error() || !server->handshake_done());
}

// After the handshake: random records cannot be decrypted; the layer fails
// with protocol_error (or waits for the rest of a record), decoding nothing.
RC_GTEST_PROP(TlsHostileInput, RandomBytesAfterTheHandshakeDecodeNothing,
              (const std::vector<std::uint8_t>& bytes)) {
  TlsPair pair;
  RC_ASSERT(pair.handshake());
  const std::size_t taken = pair.server->receive_wire(
      ByteView(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  RC_ASSERT(taken <= bytes.size());
  std::string decoded;
  read_into(*pair.server, decoded);
  RC_ASSERT(decoded.empty());
  if (pair.server->error()) RC_ASSERT(pair.server->error() == errc::protocol_error);
}

// A flood nobody reads: wire_room() falls to 0 once two records wait, and
// no more is taken; reading makes room again and every byte arrives.
TEST(TlsHostileInput, UnreadFloodIsStoppedByWireRoom) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  const std::string flood(1024 * 1024, 'f');
  std::size_t written = 0;
  for (int i = 0; i < 1000 && pair.server->wire_room() > 0; ++i) {
    written += write_text(*pair.client, std::string_view(flood).substr(written));
    transfer(*pair.client, *pair.server, 1000);
  }
  EXPECT_EQ(pair.server->wire_room(), 0u);
  EXPECT_TRUE(pair.server->wire_buffer().empty());
  EXPECT_EQ(pair.server->receive_wire(as_bytes("more")), 0u);
  EXPECT_LE(read_input_held(*pair.server), wire_input_limit);
  EXPECT_GT(pair.client->pending_wire_size(), 0u);  // the rest waits at the sender
  // Now the reader reads: everything arrives.
  std::string received;
  for (int i = 0; i < 100000 && received.size() < flood.size(); ++i) {
    written += write_text(*pair.client, std::string_view(flood).substr(written));
    transfer(*pair.client, *pair.server);
    read_into(*pair.server, received, 5000);
    EXPECT_LE(read_input_held(*pair.server), wire_input_limit);
  }
  EXPECT_TRUE(received == flood);
}

// wire_buffer()/commit_wire() is the same path as receive_wire().
TEST(TlsHostileInput, WireBufferIsBoundedLikeReceiveWire) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  ASSERT_EQ(write_text(*pair.client, std::string(200 * 1024, 'w')), 200u * 1024);
  std::size_t moved = 0;
  while (pair.client->pending_wire_size() > 0) {
    const MutableByteView space = pair.server->wire_buffer();
    if (space.empty()) break;
    const OutputBuffer wire = pair.client->pending_wire().front();
    const std::size_t n = std::min(space.size(), wire.size);
    std::memcpy(space.data(), wire.data, n);
    pair.server->commit_wire(n);
    pair.client->consume_wire(n);
    moved += n;
  }
  EXPECT_EQ(pair.server->wire_room(), 0u);
  EXPECT_GE(moved, wire_input_limit - 16 * 1024);
  EXPECT_LE(moved, wire_input_limit);
  pair.pump();
  EXPECT_EQ(pair.server_received, std::string(200 * 1024, 'w'));
}

// A raw OpenSSL client limited to TLS 1.2, driven through memory BIOs.
struct RawTls12Client {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL* ssl = nullptr;
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());

  RawTls12Client() {
    SSL_CTX_set_max_proto_version(context, TLS1_2_VERSION);
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
    ssl = SSL_new(context);
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
  }
  ~RawTls12Client() {
    SSL_free(ssl);
    SSL_CTX_free(context);
  }
  RawTls12Client(const RawTls12Client&) = delete;
  RawTls12Client& operator=(const RawTls12Client&) = delete;

  // Moves bytes between this client and `server` once each way.
  void exchange(StreamLayer& server, std::string& server_received) {
    std::vector<char> buffer(64 * 1024);
    const int n = BIO_read(out, buffer.data(), int(buffer.size()));
    if (n > 0) {
      EXPECT_EQ(server.receive_wire(
                    ByteView(reinterpret_cast<const std::byte*>(buffer.data()), std::size_t(n))),
                std::size_t(n));
    }
    read_into(server, server_received);
    while (server.pending_wire_size() > 0) {
      const OutputBuffer wire = server.pending_wire().front();
      BIO_write(in, wire.data, int(wire.size));
      server.consume_wire(wire.size);
    }
  }
};

// Renegotiation (TLS 1.2 only) is refused: OpenSSL's server, with
// SSL_OP_NO_RENEGOTIATION, answers the client's new ClientHello with a
// no_renegotiation warning alert and stays in its session; OpenSSL's client
// treats that warning as fatal (SSL_R_NO_RENEGOTIATION) and sends a
// handshake_failure alert, which fails the server layer with
// protocol_error. No second handshake ever happens.
TEST(TlsHostileInput, RenegotiationIsRefused) {
  auto server = new_server();
  RawTls12Client client;
  std::string server_received;
  for (int i = 0; i < 20 && !(SSL_is_init_finished(client.ssl) && server->handshake_done()); ++i) {
    (void)SSL_do_handshake(client.ssl);
    client.exchange(*server, server_received);
  }
  ASSERT_TRUE(server->handshake_done());
  ASSERT_EQ(SSL_version(client.ssl), TLS1_2_VERSION);
  ASSERT_EQ(SSL_write(client.ssl, "before", 6), 6);
  client.exchange(*server, server_received);
  EXPECT_EQ(server_received, "before");

  ASSERT_EQ(SSL_renegotiate(client.ssl), 1);
  EXPECT_LE(SSL_do_handshake(client.ssl), 0);  // the new ClientHello, sent
  client.exchange(*server, server_received);
  // The server refused without failing: only a warning went back.
  EXPECT_FALSE(server->error()) << ws::tls::error_detail(*server);
  ERR_clear_error();
  char byte = 0;
  const int result = SSL_read(client.ssl, &byte, 1);
  EXPECT_LE(result, 0);
  EXPECT_EQ(SSL_get_error(client.ssl, result), SSL_ERROR_SSL);
  EXPECT_EQ(ERR_GET_REASON(ERR_peek_error()), SSL_R_NO_RENEGOTIATION);
  ERR_clear_error();
  // The client's fatal alert reaches the server.
  client.exchange(*server, server_received);
  EXPECT_EQ(server->error(), errc::protocol_error);
  EXPECT_EQ(server_received, "before");
}

}  // namespace
}  // namespace ws::test::tls
