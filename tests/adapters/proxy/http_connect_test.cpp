// The HTTP CONNECT tunnel (RFC 9110 9.3.6) as a StreamLayer: the request
// on the wire, the proxy's answer in any split, refusals as named errors
// carrying what the proxy said, then a bounded pass-through.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy_test_support.hpp"
#include "ws/base/error.hpp"
#include "ws/proxy/error.hpp"
#include "ws/proxy/tunnel.hpp"

namespace ws::proxy {
namespace {

using test::give;
using test::give_bytewise;
using test::make_tunnel;
using test::read_all;
using test::settings;
using test::take_wire;

constexpr std::string_view kEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";
// What a WebSocket server sends first, after the tunnel is up.
constexpr std::string_view kServerBytes =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n";

// tinyproxy's refusals (1.11): HTTP/1.0 status lines, with a body.
constexpr std::string_view kTinyproxy407 =
    "HTTP/1.0 407 Proxy Authentication Required\r\n"
    "Server: tinyproxy/1.11.1\r\n"
    "Content-Type: text/html\r\n"
    "Proxy-Authenticate: Basic realm=\"tinyproxy\"\r\n"
    "Connection: close\r\n"
    "\r\n"
    "<html><body>Proxy Authentication Required</body></html>\n";
constexpr std::string_view kTinyproxy401 =
    "HTTP/1.0 401 Unauthorized\r\n"
    "Server: tinyproxy/1.11.1\r\n"
    "Content-Type: text/html\r\n"
    "Connection: close\r\n"
    "\r\n"
    "<html><body>Unauthorized</body></html>\n";

// RFC 9110 9.3.6 (authority-form target), RFC 9112 3.2 (Host is that
// authority): no credentials, no Proxy-Authorization.
TEST(HttpConnect, RequestWithoutCredentialsIsExactlyTheConnectLine) {
  auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 9001);
  EXPECT_EQ(take_wire(*layer),
            "CONNECT echo.example:9001 HTTP/1.1\r\n"
            "Host: echo.example:9001\r\n"
            "\r\n");
  EXPECT_FALSE(layer->handshake_done());
  EXPECT_FALSE(layer->error());
}

// RFC 7617 2: Basic with base64("user-id:password"); the RFC's own example.
TEST(HttpConnect, RequestWithCredentialsCarriesBasicProxyAuthorization) {
  auto layer =
      make_tunnel(settings(ProxyKind::http, "Aladdin", "open sesame"), "echo.example", 443);
  EXPECT_EQ(take_wire(*layer),
            "CONNECT echo.example:443 HTTP/1.1\r\n"
            "Host: echo.example:443\r\n"
            "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"
            "\r\n");
}

// RFC 3986 3.2.2: an IPv6 literal goes in brackets, given with or without.
TEST(HttpConnect, Ipv6TargetIsBracketed) {
  for (const std::string_view host : {"::1", "[::1]"}) {
    auto layer = make_tunnel(settings(ProxyKind::http), host, 9001);
    EXPECT_EQ(take_wire(*layer), "CONNECT [::1]:9001 HTTP/1.1\r\nHost: [::1]:9001\r\n\r\n");
  }
}

TEST(HttpConnect, NothingIsTakenFromAboveBeforeTheTunnelIsUp) {
  auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  std::size_t taken = 1;
  (void)test::write_text(*layer, "GET / HTTP/1.1\r\n", &taken);
  EXPECT_EQ(taken, 0U);
}

// The server's first bytes may share a segment with the proxy's answer:
// they are the stream's, not lost with the head.
TEST(HttpConnect, TwoHundredWithTheServersFirstBytesInTheSameSegment) {
  auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  (void)take_wire(*layer);
  EXPECT_EQ(give(*layer, std::string(kEstablished) + std::string(kServerBytes)), kServerBytes);
  EXPECT_TRUE(layer->handshake_done());
  EXPECT_FALSE(layer->error());
  EXPECT_EQ(refusal(*layer), nullptr);
}

TEST(HttpConnect, ResponseSplitByteByByte) {
  auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  (void)take_wire(*layer);
  const std::string head(kEstablished);
  for (std::size_t i = 0; i + 1 < head.size(); ++i) {
    EXPECT_EQ(give(*layer, head.substr(i, 1)), "");
    ASSERT_FALSE(layer->handshake_done()) << "after byte " << i;
  }
  EXPECT_EQ(give(*layer, head.substr(head.size() - 1)), "");
  EXPECT_TRUE(layer->handshake_done());
  EXPECT_EQ(give_bytewise(*layer, kServerBytes), kServerBytes);
}

// RFC 9110 9.3.6: a client MUST ignore Content-Length and Transfer-Encoding
// in a 2xx answer to CONNECT; what follows is the tunnel.
TEST(HttpConnect, ContentLengthOfASuccessIsIgnored) {
  auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  EXPECT_EQ(give(*layer, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nserver"), "server");
  EXPECT_TRUE(layer->handshake_done());
}

// RFC 9110 15.2: interim 1xx answers precede the final one.
TEST(HttpConnect, InterimAnswersAreSkipped) {
  auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  EXPECT_EQ(give(*layer, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nx"), "x");
  EXPECT_TRUE(layer->handshake_done());
}

// Any 2xx opens the tunnel (RFC 9110 9.3.6), and the status line may be
// HTTP/1.0.
TEST(HttpConnect, AnyTwoHundredOpensTheTunnel) {
  auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  EXPECT_EQ(give(*layer, "HTTP/1.0 204 \r\n\r\n"), "");
  EXPECT_TRUE(layer->handshake_done());
}

// Issue 20: tinyproxy answers a missing password with 407 in an HTTP/1.0
// status line; the error is named and what the proxy said is kept.
TEST(HttpConnect, Tinyproxy407WithoutCredentialsIsAuthenticationRequired) {
  auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  EXPECT_EQ(give(*layer, kTinyproxy407), "");
  EXPECT_EQ(layer->error(), errc::authentication_required);
  EXPECT_EQ(layer->error(), ws::condition::handshake_failed);
  EXPECT_FALSE(layer->handshake_done());
  const Refusal* said = refusal(*layer);
  ASSERT_NE(said, nullptr);
  EXPECT_EQ(said->kind, ProxyKind::http);
  EXPECT_EQ(said->status, 407);
  EXPECT_EQ(said->reason, "Proxy Authentication Required");
  EXPECT_EQ(said->version_major, 1);
  EXPECT_EQ(said->version_minor, 0);
  ASSERT_EQ(said->fields.size(), 4U);
  EXPECT_EQ(said->fields[2].name, "Proxy-Authenticate");
  EXPECT_EQ(said->fields[2].value, "Basic realm=\"tinyproxy\"");
  // The stream is over: nothing more is taken.
  EXPECT_EQ(layer->wire_room(), 0U);
  EXPECT_EQ(read_all(*layer), "");
}

// Issue 20: tinyproxy answers a wrong password with 401.
TEST(HttpConnect, Tinyproxy401WithWrongCredentialsIsAuthenticationFailed) {
  auto layer = make_tunnel(settings(ProxyKind::http, "alice", "wrong"), "echo.example", 80);
  (void)take_wire(*layer);
  EXPECT_EQ(give(*layer, kTinyproxy401), "");
  EXPECT_EQ(layer->error(), errc::authentication_failed);
  const Refusal* said = refusal(*layer);
  ASSERT_NE(said, nullptr);
  EXPECT_EQ(said->status, 401);
  EXPECT_EQ(said->reason, "Unauthorized");
  EXPECT_EQ(said->version_minor, 0);
}

// RFC 9110 15.5.8: other proxies answer 407 to wrong credentials too; with
// credentials sent it is a failure, not a request for them. And 401 with
// none sent asks for them.
TEST(HttpConnect, WhichAuthenticationErrorDependsOnWhetherCredentialsWereSent) {
  struct Case {
    std::string_view answer;
    bool credentials;
    errc expected;
  };
  for (const Case& c : {Case{kTinyproxy407, true, errc::authentication_failed},
                        Case{kTinyproxy401, false, errc::authentication_required}}) {
    auto layer = make_tunnel(
        c.credentials ? settings(ProxyKind::http, "alice", "pw") : settings(ProxyKind::http),
        "echo.example", 80);
    (void)give(*layer, c.answer);
    EXPECT_EQ(layer->error(), c.expected) << c.answer.substr(0, 12);
  }
}

// RFC 9110 9.3.6: any status other than 2xx means the tunnel is not up.
TEST(HttpConnect, OtherStatusesAreHttpRefusedWithTheStatusLine) {
  for (const auto& [line, status, reason] : std::vector<std::tuple<std::string, int, std::string>>{
           {"HTTP/1.1 403 Forbidden\r\n", 403, "Forbidden"},
           {"HTTP/1.1 502 Bad Gateway\r\n", 502, "Bad Gateway"},
           {"HTTP/1.1 101 Switching Protocols\r\n", 101, "Switching Protocols"},
           {"HTTP/1.1 301 Moved Permanently\r\n", 301, "Moved Permanently"}}) {
    auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
    (void)give(*layer, line + "Content-Length: 0\r\n\r\n");
    EXPECT_EQ(layer->error(), errc::http_refused) << line;
    ASSERT_NE(refusal(*layer), nullptr);
    EXPECT_EQ(refusal(*layer)->status, status);
    EXPECT_EQ(refusal(*layer)->reason, reason);
    ASSERT_EQ(refusal(*layer)->fields.size(), 1U);
    EXPECT_EQ(refusal(*layer)->fields[0].name, "Content-Length");
  }
}

// RFC 9112 4: status-line = HTTP-version SP status-code SP [reason].
TEST(HttpConnect, MalformedStatusLinesAreMalformedReply) {
  for (const std::string_view answer :
       {"HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 OK\r\n\r\n", "SSH-2.0-OpenSSH_9.2\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"}) {
    auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
    (void)give(*layer, answer);
    EXPECT_EQ(layer->error(), errc::malformed_reply) << answer;
    EXPECT_EQ(layer->error(), ws::condition::handshake_failed);
    EXPECT_EQ(refusal(*layer), nullptr);
    EXPECT_FALSE(layer->handshake_done());
  }
}

// The brief's bound: a response head past 16 KiB fails, never grows.
TEST(HttpConnect, AResponseHeadPastTheBoundIsResponseTooLarge) {
  auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  std::string answer = "HTTP/1.1 200 OK\r\nX-Filler: ";
  answer += std::string(max_response_head, 'a');
  answer += "\r\n\r\n";
  std::size_t offset = 0;
  while (offset < answer.size() && !layer->error()) {
    const std::size_t room = layer->wire_room();
    ASSERT_GT(room, 0U);
    const std::string piece = answer.substr(offset, std::min<std::size_t>(room, 1000));
    (void)give(*layer, piece);
    offset += piece.size();
  }
  EXPECT_EQ(layer->error(), errc::response_too_large);
  EXPECT_LE(offset, max_response_head + 1000);
}

TEST(HttpConnect, TooManyFieldLinesIsResponseTooLarge) {
  auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  std::string answer = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 101; ++i) answer += "X: y\r\n";
  (void)give(*layer, answer + "\r\n");
  EXPECT_EQ(layer->error(), errc::response_too_large);
}

// Issue 20: never a hang. The end of the stream mid-answer is an error.
TEST(HttpConnect, EndOfStreamMidResponseIsEofInHandshake) {
  auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  EXPECT_EQ(give(*layer, "HTTP/1.1 200 Conn"), "");
  EXPECT_FALSE(layer->error());
  layer->receive_wire_eof();
  EXPECT_EQ(read_all(*layer), "");
  EXPECT_EQ(layer->error(), errc::eof_in_handshake);
  EXPECT_EQ(layer->error(), ws::condition::handshake_failed);
  EXPECT_FALSE(layer->read_ended());
}

TEST(HttpConnect, EndOfStreamBeforeAnyAnswerIsEofInHandshake) {
  auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  layer->receive_wire_eof();
  EXPECT_EQ(read_all(*layer), "");
  EXPECT_EQ(layer->error(), errc::eof_in_handshake);
}

// A refusal followed by the proxy's close reports the refusal, not the end.
TEST(HttpConnect, ARefusalThenTheEndReportsTheRefusal) {
  auto layer = make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  EXPECT_EQ(layer->receive_wire(as_bytes(kTinyproxy407)), kTinyproxy407.size());
  layer->receive_wire_eof();
  (void)read_all(*layer);
  EXPECT_EQ(layer->error(), errc::authentication_required);
}

// RFC 7617 2: a user-id with ':' cannot be sent; control characters not
// either (they would also break the request's lines).
TEST(HttpConnect, CredentialsBasicCannotCarryAreRefusedUpFront) {
  for (const auto& [user, password] : std::vector<std::pair<std::string, std::string>>{
           {"a:b", "pw"}, {"a\r\nX: y", "pw"}, {"alice", "p\nw"}}) {
    auto layer = tunnel_layer(settings(ProxyKind::http, user, password), "echo.example", 80);
    EXPECT_EQ(layer.error(), errc::invalid_credentials) << user;
  }
}

// The target becomes part of the request line: only names and addresses.
TEST(HttpConnect, TargetsThatAreNotNamesOrAddressesAreRefusedUpFront) {
  for (const std::string_view host :
       {"", "a b", "a\r\nX: y", "host:80", "[::1", "exa%6dple", "user@host"}) {
    auto layer = tunnel_layer(settings(ProxyKind::http), host, 80);
    EXPECT_EQ(layer.error(), errc::invalid_target) << host;
  }
}

}  // namespace
}  // namespace ws::proxy
