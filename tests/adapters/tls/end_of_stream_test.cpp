// How a ws::tls stream ends: close_notify, the end of the wire stream
// without it (an ordinary end), and the end of the wire stream during the
// handshake (an error).
#include <gtest/gtest.h>

#include <string>

#include "tls/tls_pair.hpp"
#include "ws/base/error.hpp"

namespace ws::test::tls {
namespace {

using ws::tls::errc;

// shutdown() sends close_notify after what write() took: the peer reads
// all of it, then read_ended(), with no error.
TEST(TlsEndOfStream, CloseNotifyEndsThePeersStreamAfterItsData) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  ASSERT_EQ(write_text(*pair.client, "last words"), 10u);
  pair.client->shutdown();
  EXPECT_TRUE(pair.client->shutdown_started());
  pair.client->shutdown();                          // idempotent
  EXPECT_EQ(write_text(*pair.client, "more"), 0u);  // nothing after the end
  pair.pump();
  EXPECT_EQ(pair.server_received, "last words");
  EXPECT_TRUE(pair.server->read_ended());
  EXPECT_FALSE(pair.server->error());
  EXPECT_FALSE(pair.client->read_ended());
  // The server can still answer and end its own side.
  ASSERT_EQ(write_text(*pair.server, "bye"), 3u);
  pair.server->shutdown();
  pair.pump();
  EXPECT_EQ(pair.client_received, "bye");
  EXPECT_TRUE(pair.client->read_ended());
  EXPECT_FALSE(pair.client->error());
}

// A peer that drops TCP without close_notify (SSL_OP_IGNORE_UNEXPECTED_EOF)
// ends the stream like close_notify: read_ended(), no error. Bytes decoded
// before still arrive.
TEST(TlsEndOfStream, EndOfWireWithoutCloseNotifyIsAnOrdinaryEnd) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  ASSERT_EQ(write_text(*pair.client, "abc"), 3u);
  transfer(*pair.client, *pair.server);
  pair.server->receive_wire_eof();
  EXPECT_EQ(pair.server->wire_room(), 0u);  // nothing after the end
  std::string received;
  read_into(*pair.server, received);
  EXPECT_EQ(received, "abc");
  EXPECT_TRUE(pair.server->read_ended());
  EXPECT_FALSE(pair.server->error());
}

// The end of the wire in the middle of a record after the handshake: still
// no error (the WebSocket layer sees an unexpected end of its stream).
TEST(TlsEndOfStream, EndOfWireInsideARecordIsAnOrdinaryEnd) {
  TlsPair cut;
  ASSERT_TRUE(cut.ok());
  ASSERT_TRUE(cut.handshake());
  ASSERT_EQ(write_text(*cut.client, std::string(1000, 'z')), 1000u);
  const OutputBuffer wire = cut.client->pending_wire().front();
  // The first 100 bytes of a record of about 1 KiB.
  ASSERT_EQ(cut.server->receive_wire(ByteView(wire.data, 100)), 100u);
  cut.server->receive_wire_eof();
  std::string received;
  read_into(*cut.server, received);
  EXPECT_EQ(received, "");
  EXPECT_TRUE(cut.server->read_ended());
  EXPECT_FALSE(cut.server->error()) << ws::tls::error_detail(*cut.server);
}

// The end of the wire before the handshake completed is a failure: the
// server saw a ClientHello but never the client's Finished.
TEST(TlsEndOfStream, EndOfWireDuringTheHandshakeIsAnError) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  transfer(*pair.client, *pair.server);  // the ClientHello
  std::string ignored;
  read_into(*pair.server, ignored);  // the server answers
  EXPECT_GT(pair.server->pending_wire_size(), 0u);
  pair.server->receive_wire_eof();
  read_into(*pair.server, ignored);
  EXPECT_EQ(pair.server->error(), errc::eof_in_handshake);
  EXPECT_EQ(pair.server->error(), ws::condition::handshake_failed);
  EXPECT_FALSE(pair.server->read_ended());
  EXPECT_FALSE(pair.server->handshake_done());
  // The client, whose server went away before its ServerHello.
  pair.client->receive_wire_eof();
  read_into(*pair.client, ignored);
  EXPECT_EQ(pair.client->error(), errc::eof_in_handshake);
}

// A connection closed before its first byte (a port scan, a health check).
TEST(TlsEndOfStream, EndOfWireBeforeAnyByteIsAHandshakeError) {
  auto server = make_layer(localhost_server());
  ASSERT_NE(server, nullptr);
  server->receive_wire_eof();
  std::string ignored;
  read_into(*server, ignored);
  EXPECT_EQ(server->error(), errc::eof_in_handshake);
}

TEST(TlsEndOfStream, TruncatedClientHelloThenEndIsAnError) {
  auto client = make_layer(trusting_client());
  auto server = make_layer(localhost_server());
  ASSERT_TRUE(client && server);
  const OutputBuffer hello = client->pending_wire().front();
  ASSERT_GT(hello.size, 60u);
  for (std::size_t cut : {std::size_t{3}, std::size_t{5}, std::size_t{60}, hello.size - 1}) {
    auto fresh = make_layer(localhost_server());
    ASSERT_EQ(fresh->receive_wire(ByteView(hello.data, cut)), cut);
    std::string ignored;
    read_into(*fresh, ignored);
    EXPECT_FALSE(fresh->error()) << cut;  // waiting for the rest
    fresh->receive_wire_eof();
    read_into(*fresh, ignored);
    EXPECT_EQ(fresh->error(), errc::eof_in_handshake) << cut;
  }
}

// shutdown() before the handshake completed sends nothing (there is no
// session to close) and makes no error.
TEST(TlsEndOfStream, ShutdownBeforeTheHandshakeSendsNothing) {
  auto server = make_layer(localhost_server());
  ASSERT_NE(server, nullptr);
  server->shutdown();
  EXPECT_TRUE(server->shutdown_started());
  EXPECT_EQ(server->pending_wire_size(), 0u);
  EXPECT_FALSE(server->error());
}

}  // namespace
}  // namespace ws::test::tls
