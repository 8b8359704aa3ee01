// The SOCKS5 tunnel (RFC 1928) with user name and password (RFC 1929) as
// a StreamLayer: each message's exact bytes, each reply in any split, each
// refusal a named error.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy_test_support.hpp"
#include "ws/base/error.hpp"
#include "ws/proxy/error.hpp"
#include "ws/proxy/tunnel.hpp"

namespace ws::proxy {
namespace {

using test::bytes;
using test::give;
using test::give_bytewise;
using test::make_tunnel;
using test::read_all;
using test::settings;
using test::take_wire;

// RFC 1928 4: VER 5, CMD 1 (CONNECT), RSV 0, ATYP 3, a name, port 9001.
const std::string kConnectEcho = bytes({5, 1, 0, 3, 12}) + "echo.example" + bytes({0x23, 0x29});
// RFC 1928 6: success, bound to IPv4 10.0.0.1:8080.
const std::string kSucceededV4 = bytes({5, 0, 0, 1, 10, 0, 0, 1, 0x1F, 0x90});

// RFC 1928 3: VER 5, NMETHODS 1, X'00' (no authentication).
TEST(Socks5, GreetingWithoutCredentialsOffersNoAuthentication) {
  auto layer = make_tunnel(settings(ProxyKind::socks5h), "echo.example", 9001);
  EXPECT_EQ(take_wire(*layer), bytes({5, 1, 0}));
  EXPECT_FALSE(layer->handshake_done());
}

// RFC 1928 3 and RFC 1929: with credentials, X'00' and X'02' (user name and
// password); the proxy chooses.
TEST(Socks5, GreetingWithCredentialsOffersUserNameAndPasswordToo) {
  auto layer = make_tunnel(settings(ProxyKind::socks5h, "alice", "secret"), "echo.example", 9001);
  EXPECT_EQ(take_wire(*layer), bytes({5, 2, 0, 2}));
}

// RFC 1928 3, 4: METHOD X'00' selected, then the CONNECT request, ATYP 3
// (a name the proxy resolves: socks5h, and socks5 per issue 20).
TEST(Socks5, NoAuthenticationSelectedThenConnectWithADomainName) {
  for (const ProxyKind kind : {ProxyKind::socks5h, ProxyKind::socks5}) {
    auto layer = make_tunnel(settings(kind), "echo.example", 9001);
    (void)take_wire(*layer);
    EXPECT_EQ(give(*layer, bytes({5, 0})), "");
    EXPECT_EQ(take_wire(*layer), kConnectEcho);
    EXPECT_EQ(give(*layer, kSucceededV4), "");
    EXPECT_TRUE(layer->handshake_done());
    EXPECT_FALSE(layer->error());
  }
}

// RFC 1928 5: ATYP 1, four bytes, for an IPv4 address (socks5:// with an
// address the caller resolved).
TEST(Socks5, ConnectWithAnIpv4Address) {
  auto layer = make_tunnel(settings(ProxyKind::socks5), "192.0.2.7", 443);
  (void)take_wire(*layer);
  (void)give(*layer, bytes({5, 0}));
  EXPECT_EQ(take_wire(*layer), bytes({5, 1, 0, 1, 192, 0, 2, 7, 0x01, 0xBB}));
}

// RFC 1928 5: ATYP 4, sixteen bytes in network order, brackets or not.
TEST(Socks5, ConnectWithAnIpv6Address) {
  for (const std::string_view host : {"2001:db8::1", "[2001:db8::1]"}) {
    auto layer = make_tunnel(settings(ProxyKind::socks5), host, 80);
    (void)take_wire(*layer);
    (void)give(*layer, bytes({5, 0}));
    EXPECT_EQ(take_wire(*layer), bytes({5, 1, 0, 4, 0x20, 0x01, 0x0D, 0xB8, 0, 0, 0,
                                        0, 0, 0, 0, 0,    0,    0,    0,    1, 0, 80}));
  }
}

// RFC 1929 2: VER 1, ULEN, UNAME, PLEN, PASSWD; STATUS 0 is success, then
// the CONNECT request.
TEST(Socks5, UserNameAndPasswordAccepted) {
  auto layer = make_tunnel(settings(ProxyKind::socks5h, "alice", "secret"), "echo.example", 9001);
  (void)take_wire(*layer);
  EXPECT_EQ(give(*layer, bytes({5, 2})), "");
  EXPECT_EQ(take_wire(*layer), bytes({1, 5}) + "alice" + bytes({6}) + "secret");
  EXPECT_EQ(give(*layer, bytes({1, 0})), "");
  EXPECT_EQ(take_wire(*layer), kConnectEcho);
  EXPECT_EQ(give(*layer, kSucceededV4 + "server"), "server");
  EXPECT_TRUE(layer->handshake_done());
}

// RFC 1929 2: a STATUS other than X'00' is a failure (and the server closes).
TEST(Socks5, UserNameAndPasswordRefusedIsAuthenticationFailed) {
  auto layer = make_tunnel(settings(ProxyKind::socks5h, "alice", "wrong"), "echo.example", 9001);
  (void)take_wire(*layer);
  (void)give(*layer, bytes({5, 2}));
  (void)take_wire(*layer);
  (void)give(*layer, bytes({1, 1}));
  EXPECT_EQ(layer->error(), errc::authentication_failed);
  EXPECT_EQ(layer->error(), ws::condition::handshake_failed);
  ASSERT_NE(refusal(*layer), nullptr);
  EXPECT_EQ(refusal(*layer)->status, 1);
  EXPECT_EQ(layer->pending_wire_size(), 0U);  // no CONNECT after a refusal
}

// RFC 1929 2: ULEN and PLEN are single bytes, ULEN at least 1.
TEST(Socks5, CredentialsTheSubNegotiationCannotCarryAreRefusedUpFront) {
  for (const auto& [user, password] : std::vector<std::pair<std::string, std::string>>{
           {"", "pw"}, {std::string(256, 'u'), "pw"}, {"alice", std::string(256, 'p')}}) {
    auto layer = tunnel_layer(settings(ProxyKind::socks5, user, password), "echo.example", 80);
    EXPECT_EQ(layer.error(), errc::invalid_credentials) << user.size() << " " << password.size();
  }
  // The longest allowed, and an empty password (PLEN 0).
  auto longest =
      make_tunnel(settings(ProxyKind::socks5, std::string(255, 'u'), std::string(255, 'p')),
                  "echo.example", 80);
  EXPECT_NE(longest, nullptr);
  auto empty_password = make_tunnel(settings(ProxyKind::socks5, "alice", ""), "e.example", 80);
  ASSERT_NE(empty_password, nullptr);
  (void)take_wire(*empty_password);
  (void)give(*empty_password, bytes({5, 2}));
  EXPECT_EQ(take_wire(*empty_password), bytes({1, 5}) + "alice" + bytes({0}));
}

// RFC 1928 5: a domain name has a one-byte length.
TEST(Socks5, NamesLongerThan255BytesAreRefusedUpFront) {
  EXPECT_EQ(tunnel_layer(settings(ProxyKind::socks5h), std::string(256, 'a'), 80).error(),
            errc::invalid_target);
  EXPECT_NE(make_tunnel(settings(ProxyKind::socks5h), std::string(255, 'a'), 80), nullptr);
}

// RFC 1928 3: X'FF' means no offered method is acceptable.
TEST(Socks5, NoAcceptableMethod) {
  auto layer = make_tunnel(settings(ProxyKind::socks5h), "echo.example", 9001);
  (void)take_wire(*layer);
  (void)give(*layer, bytes({5, 0xFF}));
  EXPECT_EQ(layer->error(), errc::no_acceptable_method);
  EXPECT_EQ(layer->error(), ws::condition::handshake_failed);
  EXPECT_EQ(layer->pending_wire_size(), 0U);
}

// RFC 1928 3: the server selects from the methods offered; another version
// or a method not offered is not SOCKS5 as we speak it.
TEST(Socks5, AnUnofferedMethodOrAnotherVersionIsMalformed) {
  for (const std::string& answer :
       {bytes({5, 2}), bytes({5, 1}), bytes({4, 0}), std::string("HTTP/1.1 400 Bad Request\r\n")}) {
    auto layer = make_tunnel(settings(ProxyKind::socks5h), "echo.example", 9001);
    (void)take_wire(*layer);
    (void)give(*layer, answer);
    EXPECT_EQ(layer->error(), errc::malformed_reply);
  }
}

// RFC 1928 6: REP 1..8, each a named error whose message is the RFC's text,
// the code kept in the refusal; decided on the REP byte alone, since a
// server may close without the rest.
struct ReplyCase {
  int code;
  errc error;
  std::string_view text;
};

class Socks5Reply : public ::testing::TestWithParam<ReplyCase> {};

INSTANTIATE_TEST_SUITE_P(
    Rfc1928, Socks5Reply,
    ::testing::Values(ReplyCase{1, errc::socks_general_failure, "general SOCKS server failure"},
                      ReplyCase{2, errc::socks_not_allowed, "connection not allowed by ruleset"},
                      ReplyCase{3, errc::socks_network_unreachable, "Network unreachable"},
                      ReplyCase{4, errc::socks_host_unreachable, "Host unreachable"},
                      ReplyCase{5, errc::socks_connection_refused, "Connection refused"},
                      ReplyCase{6, errc::socks_ttl_expired, "TTL expired"},
                      ReplyCase{7, errc::socks_command_not_supported, "Command not supported"},
                      ReplyCase{8, errc::socks_address_type_not_supported,
                                "Address type not supported"},
                      ReplyCase{9, errc::socks_refused, "unassigned reply code"},
                      ReplyCase{255, errc::socks_refused, "unassigned reply code"}),
    [](const auto& param_info) { return "REP" + std::to_string(param_info.param.code); });

TEST_P(Socks5Reply, IsANamedErrorWithTheRfcText) {
  const ReplyCase& c = GetParam();
  auto layer = make_tunnel(settings(ProxyKind::socks5h), "echo.example", 9001);
  (void)take_wire(*layer);
  (void)give(*layer, bytes({5, 0}));
  (void)take_wire(*layer);
  (void)give(*layer, bytes({5, c.code}));
  EXPECT_EQ(layer->error(), c.error);
  EXPECT_EQ(layer->error(), ws::condition::handshake_failed);
  EXPECT_NE(layer->error().message().find(c.text), std::string::npos) << layer->error().message();
  EXPECT_EQ(std::string(layer->error().category().name()), "ws.proxy");
  const Refusal* said = refusal(*layer);
  ASSERT_NE(said, nullptr);
  EXPECT_EQ(said->status, c.code);
  EXPECT_EQ(said->reason, c.text);
  EXPECT_FALSE(layer->handshake_done());
}

// RFC 1928 6: the reply's length depends on its BND.ADDR type; the bytes
// after it (the server's) are the stream's, in whatever split they come.
struct BoundCase {
  std::string name;
  std::string reply;
};

class Socks5Bound : public ::testing::TestWithParam<BoundCase> {};

INSTANTIATE_TEST_SUITE_P(
    Rfc1928, Socks5Bound,
    ::testing::Values(BoundCase{"ipv4", bytes({5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38})},
                      BoundCase{"ipv6", bytes({5, 0, 0, 4, 0, 0, 0, 0, 0, 0,    0,
                                               0, 0, 0, 0, 0, 0, 0, 0, 1, 0x04, 0x38})},
                      BoundCase{"domain",
                                bytes({5, 0, 0, 3, 9}) + "proxy.lan" + bytes({0x04, 0x38})},
                      BoundCase{"empty_domain", bytes({5, 0, 0, 3, 0, 0x04, 0x38})}),
    [](const auto& param_info) { return param_info.param.name; });

TEST_P(Socks5Bound, WholeReplyThenServerBytesInOneSegment) {
  auto layer = make_tunnel(settings(ProxyKind::socks5h), "echo.example", 9001);
  (void)take_wire(*layer);
  (void)give(*layer, bytes({5, 0}));
  (void)take_wire(*layer);
  EXPECT_EQ(give(*layer, GetParam().reply + "HTTP/1.1 101"), "HTTP/1.1 101");
  EXPECT_TRUE(layer->handshake_done());
}

TEST_P(Socks5Bound, EveryMessageSplitByteByByte) {
  auto layer = make_tunnel(settings(ProxyKind::socks5h, "alice", "secret"), "echo.example", 9001);
  EXPECT_EQ(take_wire(*layer), bytes({5, 2, 0, 2}));
  EXPECT_EQ(give_bytewise(*layer, bytes({5, 2})), "");
  EXPECT_EQ(take_wire(*layer), bytes({1, 5}) + "alice" + bytes({6}) + "secret");
  EXPECT_EQ(give_bytewise(*layer, bytes({1, 0})), "");
  EXPECT_EQ(take_wire(*layer), kConnectEcho);
  const std::string& reply = GetParam().reply;
  for (std::size_t i = 0; i + 1 < reply.size(); ++i) {
    EXPECT_EQ(give(*layer, reply.substr(i, 1)), "");
    ASSERT_FALSE(layer->handshake_done()) << "after byte " << i;
    ASSERT_FALSE(layer->error());
  }
  EXPECT_EQ(give(*layer, reply.substr(reply.size() - 1)), "");
  EXPECT_TRUE(layer->handshake_done());
  EXPECT_EQ(give_bytewise(*layer, "server bytes"), "server bytes");
}

// RFC 1928 5: ATYP is 1, 3 or 4.
TEST(Socks5, AReplyWithAnUnknownAddressTypeIsMalformed) {
  auto layer = make_tunnel(settings(ProxyKind::socks5h), "echo.example", 9001);
  (void)take_wire(*layer);
  (void)give(*layer, bytes({5, 0}));
  (void)give(*layer, bytes({5, 0, 0, 2, 1, 2, 3, 4, 0, 80}));
  EXPECT_EQ(layer->error(), errc::malformed_reply);
}

// Issue 20: never a hang; the proxy closing mid-reply is an error.
TEST(Socks5, EndOfStreamMidReplyIsEofInHandshake) {
  auto layer = make_tunnel(settings(ProxyKind::socks5h), "echo.example", 9001);
  (void)take_wire(*layer);
  (void)give(*layer, bytes({5, 0}));
  (void)give(*layer, bytes({5, 0, 0, 1, 10}));
  layer->receive_wire_eof();
  EXPECT_EQ(read_all(*layer), "");
  EXPECT_EQ(layer->error(), errc::eof_in_handshake);
  EXPECT_EQ(refusal(*layer), nullptr);
}

TEST(Socks5, EndOfStreamAfterTheGreetingIsEofInHandshake) {
  auto layer = make_tunnel(settings(ProxyKind::socks5h), "echo.example", 9001);
  (void)take_wire(*layer);
  layer->receive_wire_eof();
  (void)read_all(*layer);
  EXPECT_EQ(layer->error(), errc::eof_in_handshake);
}

}  // namespace
}  // namespace ws::proxy
