// wss:// through ws::asio::TlsStream over loopback, with a self-signed
// certificate made in memory when the test runs (no key or certificate
// file is kept anywhere): both roles, and peers that drop TLS without
// close_notify.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <asio/ssl.hpp>
#include <memory>
#include <optional>
#include <string>

#include "loopback.hpp"
#include "support/frames.hpp"
#include "ws/asio/server.hpp"
#include "ws/asio/tls.hpp"

namespace {

using namespace ws::asio::test;
using ws::CloseCode;
using ws::errc;
using ws::MessageKind;
using ws::Opcode;
using ws::asio::TlsStream;
using OptionalError = std::optional<std::error_code>;
using SslSocket = ::asio::ssl::stream<tcp::socket>;

// ---- A certificate for "localhost", made with OpenSSL's C API ------------------

struct PemPair {
  std::string key;
  std::string certificate;
};

template <class T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY, EVP_PKEY_free>>;
using KeyContextPtr = std::unique_ptr<EVP_PKEY_CTX, Freer<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using CertificatePtr = std::unique_ptr<X509, Freer<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Freer<BIO, BIO_free_all>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Freer<X509_EXTENSION, X509_EXTENSION_free>>;

std::string drain_bio(BIO* bio) {
  std::string text(BIO_ctrl_pending(bio), '\0');
  const int n = BIO_read(bio, text.data(), static_cast<int>(text.size()));
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return text;
}

PemPair make_self_signed_localhost() {
  KeyContextPtr key_context(EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr));
  EVP_PKEY* raw_key = nullptr;
  if (!key_context || EVP_PKEY_keygen_init(key_context.get()) != 1 ||
      EVP_PKEY_CTX_set_ec_paramgen_curve_nid(key_context.get(), NID_X9_62_prime256v1) != 1 ||
      EVP_PKEY_keygen(key_context.get(), &raw_key) != 1) {
    ADD_FAILURE() << "key generation failed";
    return {};
  }
  KeyPtr key(raw_key);

  CertificatePtr certificate(X509_new());
  X509* cert = certificate.get();
  X509_set_version(cert, 2);  // v3
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 60 * 60);
  X509_set_pubkey(cert, key.get());
  X509_NAME* name = X509_get_subject_name(cert);
  const std::string common_name = "localhost";
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  ExtensionPtr alt_name(X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:localhost"));
  if (!alt_name || X509_add_ext(cert, alt_name.get(), -1) != 1 ||
      X509_sign(cert, key.get(), EVP_sha256()) == 0) {
    ADD_FAILURE() << "certificate signing failed";
    return {};
  }

  PemPair pem;
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  pem.key = drain_bio(key_bio.get());
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cert_bio.get(), cert);
  pem.certificate = drain_bio(cert_bio.get());
  return pem;
}

const PemPair& localhost_pem() {
  static const PemPair pem = make_self_signed_localhost();
  return pem;
}

::asio::ssl::context server_context() {
  ::asio::ssl::context context(::asio::ssl::context::tls_server);
  context.use_certificate_chain(::asio::buffer(localhost_pem().certificate));
  context.use_private_key(::asio::buffer(localhost_pem().key), ::asio::ssl::context::pem);
  return context;
}

// Trusts exactly the test certificate and checks the host name.
::asio::ssl::context client_context() {
  ::asio::ssl::context context(::asio::ssl::context::tls_client);
  context.add_certificate_authority(::asio::buffer(localhost_pem().certificate));
  context.set_verify_mode(::asio::ssl::verify_peer);
  return context;
}

SslSocket verifying_client(tcp::socket socket, ::asio::ssl::context& context) {
  SslSocket stream(std::move(socket), context);
  stream.set_verify_callback(::asio::ssl::host_name_verification("localhost"));
  return stream;
}

std::string wss_url(const tcp::socket& server_socket) {
  return "wss://localhost:" + std::to_string(server_socket.local_endpoint().port()) + "/chat";
}

// A raw TLS peer's handshake, driven on the test's io_context.
void tls_handshake(::asio::io_context& io, SslSocket& stream, SslSocket::handshake_type type) {
  OptionalError done;
  stream.async_handshake(type, [&](std::error_code error) { done = error; });
  ASSERT_TRUE(run_until(io, [&] { return done.has_value(); }));
  ASSERT_EQ(*done, std::error_code{});
}

TEST(AsioTls, EchoesAndClosesWithBothRolesOverTls) {
  ::asio::io_context io;
  ::asio::ssl::context server_tls = server_context();
  ::asio::ssl::context client_tls = client_context();
  SocketPair sockets = connect_pair(io);
  const std::string url = wss_url(sockets.server);
  TlsStream server(SslSocket(std::move(sockets.server), server_tls));
  TlsStream client(verifying_client(std::move(sockets.client), client_tls));

  OptionalError accepted;
  OptionalError connected;
  server.async_accept([&](std::error_code error) { accepted = error; });
  client.async_handshake(url, [&](std::error_code error) { connected = error; });
  ASSERT_TRUE(run_until(io, [&] { return accepted && connected; }));
  ASSERT_EQ(*accepted, std::error_code{});
  ASSERT_EQ(*connected, std::error_code{});
  ASSERT_NE(server.request(), nullptr);
  EXPECT_EQ(server.request()->host.rfind("localhost:", 0), 0U);

  // Sizes across TLS records (16 KiB) and the 64 KiB write chunk.
  for (std::size_t size :
       {std::size_t{0}, std::size_t{5}, std::size_t{70000}, std::size_t{1024 * 1024}}) {
    const std::string message(size, 's');
    ReadOutcome at_server;
    read_into(server, at_server);
    OptionalError sent;
    client.async_write_binary(ws::as_bytes(message), [&](std::error_code error) { sent = error; });
    ASSERT_TRUE(run_until(io, [&] { return at_server.done() && sent; }));
    ASSERT_EQ(*at_server.error, std::error_code{});
    EXPECT_EQ(at_server.payload, message);

    ReadOutcome at_client;
    read_into(client, at_client);
    server.async_write_text(at_server.payload, [&](std::error_code error) { sent = error; });
    ASSERT_TRUE(run_until(io, [&] { return at_client.done(); }));
    EXPECT_EQ(at_client.kind, MessageKind::text);
    EXPECT_EQ(at_client.payload, message);
  }

  ReadOutcome server_end;
  read_into(server, server_end);
  OptionalError client_closed;
  client.async_close(CloseCode::normal, [&](std::error_code error) { client_closed = error; });
  ASSERT_TRUE(run_until(io, [&] { return server_end.done() && client_closed; }));
  EXPECT_EQ(*client_closed, std::error_code{});
  EXPECT_EQ(*server_end.error, errc::connection_closed);
}

TEST(AsioTls, AnUntrustedCertificateFailsTheClientHandshake) {
  ::asio::io_context io;
  ::asio::ssl::context server_tls = server_context();
  ::asio::ssl::context strict(::asio::ssl::context::tls_client);  // trusts nothing
  strict.set_verify_mode(::asio::ssl::verify_peer);
  SocketPair sockets = connect_pair(io);
  const std::string url = wss_url(sockets.server);
  TlsStream server(SslSocket(std::move(sockets.server), server_tls));
  TlsStream client(SslSocket(std::move(sockets.client), strict));
  OptionalError accepted;
  OptionalError connected;
  server.async_accept([&](std::error_code error) { accepted = error; });
  client.async_handshake(url, [&](std::error_code error) { connected = error; });
  ASSERT_TRUE(run_until(io, [&] { return accepted && connected; }));
  EXPECT_TRUE(*connected);
  EXPECT_EQ(connected->category(), ::asio::error::get_ssl_category());
  EXPECT_TRUE(*accepted);
}

// A raw TLS client with its WebSocket handshake done against a TlsStream.
struct RawTlsClient {
  ::asio::io_context io;
  ::asio::ssl::context server_tls = server_context();
  ::asio::ssl::context client_tls = client_context();
  std::optional<TlsStream> server;
  std::optional<SslSocket> peer;

  RawTlsClient() {
    SocketPair sockets = connect_pair(io);
    server.emplace(SslSocket(std::move(sockets.server), server_tls));
    peer.emplace(verifying_client(std::move(sockets.client), client_tls));
    OptionalError accepted;
    server->async_accept([&](std::error_code error) { accepted = error; });
    tls_handshake(io, *peer, SslSocket::client);
    std::string extra;
    const std::string response = raw_client_handshake(io, *peer, extra);
    EXPECT_EQ(response.rfind("HTTP/1.1 101", 0), 0U) << response;
    EXPECT_TRUE(run_until(io, [&] { return accepted.has_value(); }));
    EXPECT_EQ(accepted.value_or(std::error_code{}), std::error_code{});
  }

  // Ends the TCP connection with no TLS close_notify.
  void drop() { peer->lowest_layer().close(); }
};

// After a completed close handshake nothing is lost: a peer that then just
// closes TCP has ended the stream normally.
TEST(AsioTls, PeerDroppingTlsWithoutCloseNotifyAfterTheCloseHandshakeIsAnOrdinaryEnd) {
  RawTlsClient t;
  OptionalError closed;
  t.server->async_close(CloseCode::normal, "bye", [&](std::error_code error) { closed = error; });
  Bytes received;
  const auto frames = raw_read_frames(t.io, *t.peer, received, 1);
  ASSERT_EQ(frames.size(), 1U);
  ASSERT_EQ(frames[0].header.opcode, Opcode::close);
  const ws::test::Bytes reply =
      ws::test::client_frame(Opcode::close, ws::test::text_of(ws::test::close_payload(1000)));
  raw_write(t.io, *t.peer, ws::test::text_of(reply));
  t.drop();
  ASSERT_TRUE(run_until(t.io, [&] { return closed.has_value(); }));
  EXPECT_EQ(*closed, std::error_code{});
  EXPECT_EQ(t.server->close_info().error, std::error_code{});
}

// Before the close handshake the same drop is an ordinary end of stream
// too: the read reports the protocol's errc::unexpected_eof, not a TLS
// error.
TEST(AsioTls, PeerDroppingTlsMidConnectionEndsTheReadWithUnexpectedEof) {
  RawTlsClient t;
  ReadOutcome message;
  read_into(*t.server, message);
  t.drop();
  ASSERT_TRUE(run_until(t.io, [&] { return message.done(); }));
  EXPECT_EQ(*message.error, errc::unexpected_eof);
  EXPECT_EQ(t.server->close_info().code, CloseCode::abnormal);
}

// The client role: a raw TLS server completes the handshake and the close,
// then drops TCP without close_notify.
TEST(AsioTls, ClientTreatsAServerDroppingTlsAfterTheCloseAsAnOrdinaryEnd) {
  ::asio::io_context io;
  ::asio::ssl::context server_tls = server_context();
  ::asio::ssl::context client_tls = client_context();
  SocketPair sockets = connect_pair(io);
  const std::string url = wss_url(sockets.server);
  SslSocket raw_server(std::move(sockets.server), server_tls);
  TlsStream client(verifying_client(std::move(sockets.client), client_tls));

  OptionalError connected;
  client.async_handshake(url, [&](std::error_code error) { connected = error; });
  tls_handshake(io, raw_server, SslSocket::server);
  std::string extra;
  const std::string request = raw_read_head(io, raw_server, extra);
  const std::string key_field = "Sec-WebSocket-Key: ";
  const std::size_t key_at = request.find(key_field);
  ASSERT_NE(key_at, std::string::npos) << request;
  const std::size_t key_begin = key_at + key_field.size();
  const std::string key = request.substr(key_begin, request.find("\r\n", key_begin) - key_begin);
  raw_write(io, raw_server,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: " +
                ws::compute_accept_key(key) + "\r\n\r\n");
  ASSERT_TRUE(run_until(io, [&] { return connected.has_value(); }));
  ASSERT_EQ(*connected, std::error_code{});

  OptionalError closed;
  client.async_close(CloseCode::normal, [&](std::error_code error) { closed = error; });
  Bytes received = ws::test::bytes_of(extra);
  const auto frames = raw_read_frames(io, raw_server, received, 1);
  ASSERT_EQ(frames.size(), 1U);
  ASSERT_EQ(frames[0].header.opcode, Opcode::close);
  const ws::test::Bytes reply =
      ws::test::server_frame(Opcode::close, ws::test::text_of(ws::test::close_payload(1000)));
  raw_write(io, raw_server, ws::test::text_of(reply));
  raw_server.lowest_layer().close();
  ASSERT_TRUE(run_until(io, [&] { return closed.has_value(); }));
  EXPECT_EQ(*closed, std::error_code{});
}

TEST(AsioTls, ServerServesWssAndShutsDown) {
  ::asio::io_context io;
  ::asio::ssl::context server_tls = server_context();
  ::asio::ssl::context client_tls = client_context();
  ws::asio::ServerOptions options;
  options.tls = &server_tls;
  ws::asio::Server server(io.get_executor(), options);
  ASSERT_EQ(server.listen(tcp::endpoint(::asio::ip::address_v4::loopback(), 0)), std::error_code{});
  tcp::socket socket(io);
  socket.connect(server.local_endpoint());
  TlsStream client(verifying_client(std::move(socket), client_tls));
  OptionalError connected;
  client.async_handshake("wss://localhost:" + std::to_string(server.local_endpoint().port()) + "/",
                         [&](std::error_code error) { connected = error; });
  ASSERT_TRUE(run_until(io, [&] { return connected.has_value(); }));
  ASSERT_EQ(*connected, std::error_code{});

  ReadOutcome echo;
  read_into(client, echo);
  client.async_write_text("secret", [](std::error_code) {});
  ASSERT_TRUE(run_until(io, [&] { return echo.done(); }));
  EXPECT_EQ(echo.payload, "secret");

  ReadOutcome end;
  read_into(client, end);
  OptionalError shut;
  server.async_shutdown(std::chrono::seconds(5), [&](std::error_code error) { shut = error; });
  ASSERT_TRUE(run_until(io, [&] { return shut && end.done(); }));
  EXPECT_EQ(*shut, std::error_code{});
  EXPECT_EQ(*end.error, errc::connection_closed);
  EXPECT_EQ(client.close_info().code, CloseCode::going_away);
}

}  // namespace
