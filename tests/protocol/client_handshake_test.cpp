// Client side of the opening handshake (RFC 6455 3, 4.1): URLs, the
// request, and validation of the server's response.
#include "ws/handshake/client_handshake.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "support/handshake_text.hpp"
#include "ws/handshake/http_head_parser.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace {

using ws::ClientHandshake;
using ws::ClientHandshakeOptions;
using ws::errc;
using ws::HeaderField;
using ws::HttpHead;
using ws::HttpHeadKind;
using ws::HttpHeadParser;
using ws::HttpParseState;

// The 16 bytes whose base64 is the RFC 6455 1.3 example key.
constexpr std::array<std::byte, 16> kRfcKeyBytes = [] {
  constexpr std::string_view nonce = "the sample nonce";
  std::array<std::byte, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(nonce[i]);
  return bytes;
}();

ws::WsUrl url(std::string_view text) {
  auto parsed = ws::parse_ws_url(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.has_value() ? std::move(parsed).value() : ws::WsUrl{};
}

ClientHandshake handshake(const ClientHandshakeOptions& options = {}) {
  auto made = ws::make_client_request(url("ws://server.example.com/chat"), options, kRfcKeyBytes);
  EXPECT_TRUE(made.has_value()) << made.error().message();
  return made.has_value() ? std::move(made).value() : ClientHandshake{};
}

// The head of a response made of `status_line` and `fields`.
struct ParsedResponse {
  std::string text;
  HttpHead head;
};

ParsedResponse response(std::string_view status_line, const std::vector<HeaderField>& fields,
                        std::string_view body = {}) {
  ParsedResponse out{ws::test::head_text(status_line, fields) + std::string(body), {}};
  auto head = ws::parse_http_head(out.text, HttpHeadKind::response);
  EXPECT_TRUE(head.has_value()) << head.error().message();
  if (head.has_value()) out.head = std::move(head).value();
  return out;
}

std::vector<HeaderField> accept_fields() {
  return {{"Upgrade", "websocket"},
          {"Connection", "Upgrade"},
          {"Sec-WebSocket-Accept", std::string(ws::test::kRfcAccept)}};
}

// ---------------------------------------------------------------------------
// URLs (RFC 6455 3)

TEST(ClientHandshake, ParsesWebSocketUrls) {
  struct Case {
    const char* url;
    bool secure;
    const char* host;
    std::uint16_t port;
    const char* path;
    const char* query;
    const char* resource;
    const char* host_header;
  };
  for (const Case& c : {
           Case{"ws://example.com", false, "example.com", 80, "/", "", "/", "example.com"},
           Case{"wss://example.com", true, "example.com", 443, "/", "", "/", "example.com"},
           Case{"WS://Example.COM/Chat", false, "example.com", 80, "/Chat", "", "/Chat",
                "example.com"},
           Case{"ws://example.com:8080/a/b?x=1&y=2", false, "example.com", 8080, "/a/b", "x=1&y=2",
                "/a/b?x=1&y=2", "example.com:8080"},
           Case{"wss://example.com:443/", true, "example.com", 443, "/", "", "/", "example.com"},
           Case{"ws://example.com:443/", false, "example.com", 443, "/", "", "/",
                "example.com:443"},
           Case{"ws://example.com?q", false, "example.com", 80, "/", "q", "/?q", "example.com"},
           Case{"ws://example.com:/", false, "example.com", 80, "/", "", "/", "example.com"},
           Case{"ws://127.0.0.1:9001", false, "127.0.0.1", 9001, "/", "", "/", "127.0.0.1:9001"},
           Case{"ws://[::1]/", false, "::1", 80, "/", "", "/", "[::1]"},
           Case{"wss://[2001:DB8::1]:8443/x", true, "2001:db8::1", 8443, "/x", "", "/x",
                "[2001:db8::1]:8443"},
           Case{"ws://[::ffff:192.0.2.1]:1", false, "::ffff:192.0.2.1", 1, "/", "", "/",
                "[::ffff:192.0.2.1]:1"},
           Case{"ws://a.example/p%20q", false, "a.example", 80, "/p%20q", "", "/p%20q",
                "a.example"},
       }) {
    const auto parsed = ws::parse_ws_url(c.url);
    ASSERT_TRUE(parsed.has_value()) << c.url;
    EXPECT_EQ(parsed->secure, c.secure) << c.url;
    EXPECT_EQ(parsed->host, c.host) << c.url;
    EXPECT_EQ(parsed->port, c.port) << c.url;
    EXPECT_EQ(parsed->path, c.path) << c.url;
    EXPECT_EQ(parsed->query, c.query) << c.url;
    EXPECT_EQ(parsed->resource(), c.resource) << c.url;
    EXPECT_EQ(parsed->host_header(), c.host_header) << c.url;
  }
}

TEST(ClientHandshake, RejectsInvalidUrls) {
  for (const char* bad : {
           "",
           "example.com",
           "http://example.com",
           "wss:/example.com",
           "ftp://example.com",
           "ws://",
           "ws:///path",
           "ws://user@example.com/",
           "ws://user:pw@example.com/",
           "ws://example.com/#frag",
           "ws://example.com#",
           "ws://example.com/a b",
           "ws://exa mple.com",
           "ws://example.com:0/",
           "ws://example.com:65536/",
           "ws://example.com:80a/",
           "ws://example.com:-1/",
           "ws://[::1/",
           "ws://[]/",
           "ws://[example.com]/",
           "ws://[::1]x/",
           "ws://[fe80::1%25eth0]/",
           "ws://ex%41mple.com/",
           "ws://example.com/\x7f",
           "ws://example.com/\xc3\xa9",
           "ws://example.com\r\n/",
       }) {
    EXPECT_EQ(ws::parse_ws_url(bad).error(), errc::invalid_url) << bad;
  }
}

// ---------------------------------------------------------------------------
// The request (RFC 6455 4.1)

TEST(ClientHandshake, BuildsTheExactRequest) {
  ClientHandshakeOptions options;
  options.origin = "http://example.com";
  options.subprotocols = {"chat", "superchat"};
  options.extension_offers = {"permessage-deflate; client_max_window_bits", "x-webkit-foo"};
  options.extra_headers = {{"Authorization", "Bearer abc"}};
  const auto made = ws::make_client_request(url("ws://server.example.com:8080/chat?room=1"),
                                            options, kRfcKeyBytes);
  ASSERT_TRUE(made.has_value());
  EXPECT_EQ(made->request,
            "GET /chat?room=1 HTTP/1.1\r\n"
            "Host: server.example.com:8080\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "Origin: http://example.com\r\n"
            "Sec-WebSocket-Protocol: chat, superchat\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-webkit-foo\r\n"
            "Authorization: Bearer abc\r\n"
            "\r\n");
  EXPECT_EQ(made->key, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(made->expected_accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(made->subprotocols, options.subprotocols);
  EXPECT_EQ(made->extension_names,
            (std::vector<std::string>{"permessage-deflate", "x-webkit-foo"}));
}

TEST(ClientHandshake, BuildsAMinimalRequestForAnIpv6Host) {
  const auto made = ws::make_client_request(url("wss://[::1]:9443"), {}, kRfcKeyBytes);
  ASSERT_TRUE(made.has_value());
  EXPECT_EQ(made->request,
            "GET / HTTP/1.1\r\n"
            "Host: [::1]:9443\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "\r\n");
}

TEST(ClientHandshake, RequestIsAValidUpgradeForTheServer) {
  ClientHandshakeOptions options;
  options.origin = "https://app.example";
  options.subprotocols = {"v1"};
  const auto made = ws::make_client_request(url("ws://h.example/p?q=1"), options, kRfcKeyBytes);
  ASSERT_TRUE(made.has_value());
  EXPECT_TRUE(ws::is_upgrade(made->request));
  const auto head = ws::parse_http_head(made->request);
  ASSERT_TRUE(head.has_value());
  const auto request = ws::validate_upgrade_request(*head);
  ASSERT_TRUE(request.has_value()) << request.error().message();
  EXPECT_EQ(request->path, "/p");
  EXPECT_EQ(request->query, "q=1");
  EXPECT_EQ(request->host, "h.example");
  EXPECT_EQ(request->origin, "https://app.example");
  EXPECT_EQ(request->subprotocols, std::vector<std::string>{"v1"});
}

TEST(ClientHandshake, RefusesInvalidOptions) {
  const auto refused = [](const ClientHandshakeOptions& options) {
    return ws::make_client_request(url("ws://a.example/"), options, kRfcKeyBytes).error() ==
           errc::invalid_handshake_option;
  };
  ClientHandshakeOptions options;
  options.subprotocols = {"chat", "chat"};
  EXPECT_TRUE(refused(options)) << "duplicate subprotocol";
  options.subprotocols = {"two words"};
  EXPECT_TRUE(refused(options)) << "subprotocol not a token";
  options.subprotocols = {""};
  EXPECT_TRUE(refused(options)) << "empty subprotocol";
  options = {};
  options.origin = "http://a\r\nX: y";
  EXPECT_TRUE(refused(options)) << "origin with CRLF";
  options = {};
  options.extension_offers = {"; x=1"};
  EXPECT_TRUE(refused(options)) << "extension without a name";
  options.extension_offers = {""};
  EXPECT_TRUE(refused(options)) << "empty extension offer";
  for (const char* reserved :
       {"Host", "sec-websocket-key", "Connection", "Upgrade", "Origin", "Content-Length"}) {
    options = {};
    options.extra_headers = {{reserved, "x"}};
    EXPECT_TRUE(refused(options)) << reserved;
  }
  options = {};
  options.extra_headers = {{"Cookie", "a=b\nc"}};
  EXPECT_TRUE(refused(options)) << "header value with LF";
}

// ---------------------------------------------------------------------------
// Response validation (RFC 6455 4.1, the client's checks)

TEST(ClientHandshake, AcceptsTheRfcExampleResponse) {
  const ParsedResponse r = response("HTTP/1.1 101 Switching Protocols", accept_fields());
  const auto accepted = ws::validate_server_response(r.head, handshake());
  ASSERT_TRUE(accepted.has_value()) << accepted.error().message();
  EXPECT_EQ(accepted->subprotocol, std::nullopt);
  EXPECT_TRUE(accepted->extensions.empty());
}

TEST(ClientHandshake, RejectsEachFaultyResponseWithItsError) {
  using ws::test::with;
  using ws::test::without;
  ClientHandshakeOptions options;
  options.subprotocols = {"chat", "superchat"};
  options.extension_offers = {"permessage-deflate; client_max_window_bits"};
  const ClientHandshake offered = handshake(options);
  struct Case {
    const char* what;
    std::string status_line;
    std::vector<HeaderField> fields;
    std::error_code expected;
  };
  std::vector<HeaderField> two_accepts = accept_fields();
  two_accepts.push_back({"Sec-WebSocket-Accept", std::string(ws::test::kRfcAccept)});
  std::vector<HeaderField> two_protocols = with(accept_fields(), "Sec-WebSocket-Protocol", "chat");
  two_protocols.push_back({"Sec-WebSocket-Protocol", "superchat"});
  const std::vector<Case> cases = {
      {"valid", "HTTP/1.1 101 Switching Protocols", accept_fields(), {}},
      {"200", "HTTP/1.1 200 OK", accept_fields(), errc::unexpected_status},
      {"no Upgrade", "HTTP/1.1 101 Switching Protocols", without(accept_fields(), "Upgrade"),
       errc::missing_upgrade_websocket},
      {"Upgrade: h2c", "HTTP/1.1 101 Switching Protocols", with(accept_fields(), "Upgrade", "h2c"),
       errc::missing_upgrade_websocket},
      {"no Connection", "HTTP/1.1 101 Switching Protocols", without(accept_fields(), "Connection"),
       errc::missing_connection_upgrade},
      {"no accept", "HTTP/1.1 101 Switching Protocols",
       without(accept_fields(), "Sec-WebSocket-Accept"), errc::missing_accept},
      {"wrong accept", "HTTP/1.1 101 Switching Protocols",
       with(accept_fields(), "Sec-WebSocket-Accept", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="),
       errc::accept_mismatch},
      {"accept of another case", "HTTP/1.1 101 Switching Protocols",
       with(accept_fields(), "Sec-WebSocket-Accept", "S3PPLMBITXAQ9KYGZZHZRBK+XOO="),
       errc::accept_mismatch},
      {"two accept lines", "HTTP/1.1 101 Switching Protocols", two_accepts, errc::accept_mismatch},
      {"subprotocol not offered", "HTTP/1.1 101 Switching Protocols",
       with(accept_fields(), "Sec-WebSocket-Protocol", "mqtt"), errc::unexpected_subprotocol},
      {"subprotocol of another case", "HTTP/1.1 101 Switching Protocols",
       with(accept_fields(), "Sec-WebSocket-Protocol", "Chat"), errc::unexpected_subprotocol},
      {"two subprotocols in one line", "HTTP/1.1 101 Switching Protocols",
       with(accept_fields(), "Sec-WebSocket-Protocol", "chat, superchat"),
       errc::unexpected_subprotocol},
      {"two subprotocol lines", "HTTP/1.1 101 Switching Protocols", two_protocols,
       errc::unexpected_subprotocol},
      {"extension not offered", "HTTP/1.1 101 Switching Protocols",
       with(accept_fields(), "Sec-WebSocket-Extensions", "x-webkit-deflate-frame"),
       errc::unexpected_extension},
      {"one offered and one not", "HTTP/1.1 101 Switching Protocols",
       with(accept_fields(), "Sec-WebSocket-Extensions", "permessage-deflate, x-other"),
       errc::unexpected_extension},
  };
  for (const Case& c : cases) {
    const ParsedResponse r = response(c.status_line, c.fields);
    EXPECT_EQ(ws::validate_server_response(r.head, offered).error(), c.expected) << c.what;
  }
}

// RFC 9110 5.6.1: empty list elements do not count, so a
// Sec-WebSocket-Extensions field that holds only commas and spaces names no
// extension: accepted when none was offered, and not reported as agreed
// (found by client_connection_fuzzer: the Opened event said ",").
TEST(ClientHandshake, AnExtensionsFieldWithNoElementsAgreesNothing) {
  std::vector<HeaderField> fields = accept_fields();
  fields.push_back({"Sec-WebSocket-Extensions", ""});
  fields.push_back({"Sec-WebSocket-Extensions", " , ,"});
  const ParsedResponse r = response("HTTP/1.1 101 Switching Protocols", fields);
  const auto accepted = ws::validate_server_response(r.head, handshake());
  ASSERT_TRUE(accepted.has_value()) << accepted.error().message();
  EXPECT_TRUE(accepted->extensions.empty());
}

TEST(ClientHandshake, ReportsTheChosenSubprotocolAndExtensions) {
  ClientHandshakeOptions options;
  options.subprotocols = {"chat", "superchat"};
  options.extension_offers = {"permessage-deflate; client_max_window_bits"};
  std::vector<HeaderField> fields = accept_fields();
  fields.push_back({"Sec-WebSocket-Protocol", "superchat"});
  fields.push_back({"Sec-WebSocket-Extensions", "Permessage-Deflate; server_no_context_takeover"});
  const ParsedResponse r = response("HTTP/1.1 101 Switching Protocols", fields);
  const auto accepted = ws::validate_server_response(r.head, handshake(options));
  ASSERT_TRUE(accepted.has_value()) << accepted.error().message();
  EXPECT_EQ(accepted->subprotocol, "superchat");
  EXPECT_EQ(accepted->extensions,
            std::vector<std::string>{"Permessage-Deflate; server_no_context_takeover"});
}

TEST(ClientHandshake, RejectsARequestHeadAsAResponse) {
  const std::string text = ws::test::valid_upgrade_request();
  const auto head = ws::parse_http_head(text);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(ws::validate_server_response(*head, handshake()).error(), errc::malformed_status_line);
}

// A non-101 answer is an unexpected_status failure, but its status, headers
// and body stay reachable so the application can act on it.
TEST(ClientHandshake, Unauthorized401ReachesTheCallerWithHeadersAndBody) {
  const std::string text =
      "HTTP/1.1 401 Unauthorized\r\n"
      "WWW-Authenticate: Basic realm=\"chat\"\r\n"
      "Content-Length: 12\r\n"
      "\r\n"
      "who are you?";
  HttpHeadParser parser(HttpHeadKind::response);
  const auto fed = parser.feed(text);
  ASSERT_EQ(fed.state, HttpParseState::complete);
  const HttpHead& head = parser.head();
  EXPECT_EQ(ws::validate_server_response(head, handshake()).error(), errc::unexpected_status);
  EXPECT_EQ(head.status_code, 401);
  EXPECT_EQ(head.reason, "Unauthorized");
  EXPECT_EQ(ws::find_header(head, "www-authenticate"), "Basic realm=\"chat\"");
  // The body is what follows the head in the stream.
  ASSERT_EQ(ws::content_length(head), 12u);
  EXPECT_EQ(std::string_view(text).substr(fed.consumed), "who are you?");
}

TEST(ClientHandshake, RedirectReachesTheCallerWithItsLocation) {
  const ParsedResponse r =
      response("HTTP/1.1 302 Found", {{"Location", "wss://other.example/chat"}}, "moved");
  EXPECT_EQ(ws::validate_server_response(r.head, handshake()).error(), errc::unexpected_status);
  EXPECT_EQ(r.head.status_code, 302);
  EXPECT_EQ(ws::find_header(r.head, "location"), "wss://other.example/chat");
  EXPECT_EQ(r.text.substr(r.head.size), "moved");
  // The application may follow it: the Location is a usable URL.
  EXPECT_TRUE(ws::parse_ws_url(*ws::find_header(r.head, "location")).has_value());
}

// ---------------------------------------------------------------------------
// Client against server, both sides through these functions

TEST(ClientHandshake, AgreesWithTheServerOnSubprotocolAndExtensions) {
  ClientHandshakeOptions client_options;
  client_options.subprotocols = {"v2.chat", "v1.chat"};
  client_options.extension_offers = {"permessage-deflate; client_max_window_bits"};
  const auto made = ws::make_client_request(url("ws://localhost:9000/room/7?user=ann"),
                                            client_options, kRfcKeyBytes);
  ASSERT_TRUE(made.has_value());

  // Server: the request arrives in pieces, with the first frame behind it.
  const std::string wire = made->request + "\x81\x80\x00\x00\x00\x00";
  HttpHeadParser server_parser(HttpHeadKind::request);
  std::size_t used = 0;
  for (std::size_t i = 0; i < wire.size() && server_parser.state() == HttpParseState::need_more;
       i += 7) {
    used += server_parser.feed(std::string_view(wire).substr(i, 7)).consumed;
  }
  ASSERT_EQ(server_parser.state(), HttpParseState::complete);
  EXPECT_EQ(used, made->request.size());
  const auto request = ws::validate_upgrade_request(server_parser.head());
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->path, "/room/7");
  EXPECT_EQ(request->query, "user=ann");
  ws::AcceptOptions accept_options;
  accept_options.subprotocols = {"v1.chat"};
  accept_options.negotiate_extensions = [](std::span<const std::string>) {
    return std::string("permessage-deflate");
  };
  const auto accepted_response = ws::build_accept_response(*request, accept_options);
  ASSERT_TRUE(accepted_response.has_value());

  // Client: validates the 101.
  HttpHeadParser client_parser(HttpHeadKind::response);
  ASSERT_EQ(client_parser.feed(accepted_response->text).state, HttpParseState::complete);
  const auto accepted = ws::validate_server_response(client_parser.head(), *made);
  ASSERT_TRUE(accepted.has_value()) << accepted.error().message();
  EXPECT_EQ(accepted->subprotocol, "v1.chat");
  EXPECT_EQ(accepted->extensions, std::vector<std::string>{"permessage-deflate"});
}

TEST(ClientHandshake, SeesTheServersRejection) {
  const auto made = ws::make_client_request(url("ws://localhost/"), {}, kRfcKeyBytes);
  ASSERT_TRUE(made.has_value());
  const auto request = ws::validate_upgrade_request(*ws::parse_http_head(made->request));
  ASSERT_TRUE(request.has_value());
  const std::vector<HeaderField> headers = {{"Retry-After", "30"}};
  const auto rejection = ws::build_rejection_response(503, "busy\n", headers);
  ASSERT_TRUE(rejection.has_value());

  HttpHeadParser client_parser(HttpHeadKind::response);
  const auto fed = client_parser.feed(*rejection);
  ASSERT_EQ(fed.state, HttpParseState::complete);
  const HttpHead& head = client_parser.head();
  EXPECT_EQ(ws::validate_server_response(head, *made).error(), errc::unexpected_status);
  EXPECT_EQ(head.status_code, 503);
  EXPECT_EQ(ws::find_header(head, "retry-after"), "30");
  EXPECT_EQ(rejection->substr(fed.consumed), "busy\n");
}

TEST(ClientHandshake, SeesAVersionRejectionFromTheServer) {
  const auto made = ws::make_client_request(url("ws://localhost/"), {}, kRfcKeyBytes);
  ASSERT_TRUE(made.has_value());
  std::string request = made->request;
  request.replace(request.find("Version: 13"), 11, "Version: 99");
  const std::error_code refused =
      ws::validate_upgrade_request(*ws::parse_http_head(request)).error();
  ASSERT_EQ(refused, errc::unsupported_websocket_version);
  const std::string answer = ws::build_error_response(refused);
  const auto head = ws::parse_http_head(answer, HttpHeadKind::response);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(ws::validate_server_response(*head, *made).error(), errc::unexpected_status);
  EXPECT_EQ(head->status_code, 426);
  EXPECT_EQ(ws::find_header(*head, "sec-websocket-version"), "13");
}

}  // namespace
