// Server side of the opening handshake (RFC 6455 4.2): detection,
// validation, the 101 answer and rejections.
#include "ws/handshake/server_handshake.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/handshake_text.hpp"
#include "ws/handshake/http_head_parser.hpp"

namespace {

using ws::AcceptOptions;
using ws::errc;
using ws::HeaderField;
using ws::UpgradeRequest;
using ws::test::head_text;
using ws::test::upgrade_fields;
using ws::test::valid_upgrade_request;
using ws::test::with;
using ws::test::without;

ws::Result<UpgradeRequest> validate(std::string_view text) {
  const auto head = ws::parse_http_head(text);
  if (!head.has_value()) return head.error();
  return ws::validate_upgrade_request(*head);
}

UpgradeRequest valid_request(std::vector<HeaderField> fields = upgrade_fields()) {
  auto request = validate(head_text("GET /chat?room=1 HTTP/1.1", fields));
  EXPECT_TRUE(request.has_value()) << request.error().message();
  return request.has_value() ? std::move(request).value() : UpgradeRequest{};
}

// The head of `response` (a 101 or a rejection) parsed back; its views
// point into `response`.
ws::HttpHead parse_response(const std::string& response) {
  auto head = ws::parse_http_head(response, ws::HttpHeadKind::response);
  EXPECT_TRUE(head.has_value()) << head.error().message();
  return head.has_value() ? std::move(head).value() : ws::HttpHead{};
}

ws::HttpHead parse_response(std::string&&) = delete;  // the views would dangle

// ---------------------------------------------------------------------------
// Sec-WebSocket-Accept (RFC 6455 1.3, 4.2.2)

TEST(ServerHandshake, ComputesTheRfcExampleAcceptKey) {
  EXPECT_EQ(ws::compute_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(ServerHandshake, ComputesAcceptKeysOfOtherKnownPairs) {
  // The example of the Wikipedia "WebSocket" article, and a pair computed
  // independently with Python's hashlib and base64 modules.
  EXPECT_EQ(ws::compute_accept_key("x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
  EXPECT_EQ(ws::compute_accept_key("AQIDBAUGBwgJCgsMDQ4PEA=="), "C/0nmHhBztSRGR1CwL6Tf4ZjwpY=");
}

// ---------------------------------------------------------------------------
// Validation (RFC 6455 4.2.1): exact error and status per case

struct ValidationCase {
  const char* what;
  std::string text;
  errc expected;
  int status;
};

TEST(ServerHandshake, RejectsEachFaultWithItsErrorAndStatus) {
  auto two = [](std::string_view name, std::string_view value) {
    std::vector<HeaderField> fields = upgrade_fields();
    fields.push_back({std::string(name), std::string(value)});
    return fields;
  };
  const std::vector<ValidationCase> cases = {
      {"PUT", head_text("PUT / HTTP/1.1", upgrade_fields()), errc::method_not_get, 405},
      {"lower-case get", head_text("get / HTTP/1.1", upgrade_fields()), errc::method_not_get, 405},
      {"HTTP/1.0", head_text("GET / HTTP/1.0", upgrade_fields()), errc::unsupported_http_version,
       400},
      {"HTTP/0.9", head_text("GET / HTTP/0.9", upgrade_fields()), errc::unsupported_http_version,
       400},
      {"no Host", head_text("GET / HTTP/1.1", without(upgrade_fields(), "host")),
       errc::missing_host, 400},
      {"empty Host", head_text("GET / HTTP/1.1", with(upgrade_fields(), "Host", "")),
       errc::missing_host, 400},
      {"two Host lines", head_text("GET / HTTP/1.1", two("Host", "evil.example")),
       errc::malformed_header, 400},
      {"Upgrade: h2c", head_text("GET / HTTP/1.1", with(upgrade_fields(), "Upgrade", "h2c")),
       errc::missing_upgrade_websocket, 400},
      {"no Upgrade", head_text("GET / HTTP/1.1", without(upgrade_fields(), "Upgrade")),
       errc::missing_upgrade_websocket, 400},
      {"Connection: close",
       head_text("GET / HTTP/1.1", with(upgrade_fields(), "Connection", "close")),
       errc::missing_connection_upgrade, 400},
      {"version 8",
       head_text("GET / HTTP/1.1", with(upgrade_fields(), "Sec-WebSocket-Version", "8")),
       errc::unsupported_websocket_version, 426},
      {"version 13, 8",
       head_text("GET / HTTP/1.1", with(upgrade_fields(), "Sec-WebSocket-Version", "13, 8")),
       errc::unsupported_websocket_version, 426},
      {"two version lines", head_text("GET / HTTP/1.1", two("Sec-WebSocket-Version", "13")),
       errc::unsupported_websocket_version, 426},
      {"no key", head_text("GET / HTTP/1.1", without(upgrade_fields(), "Sec-WebSocket-Key")),
       errc::missing_key, 400},
      {"two key lines",
       head_text("GET / HTTP/1.1", two("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA==")),
       errc::duplicate_key, 400},
      {"two keys folded into one line",
       head_text("GET / HTTP/1.1", with(upgrade_fields(), "Sec-WebSocket-Key",
                                        "dGhlIHNhbXBsZSBub25jZQ==, AQIDBAUGBwgJCgsMDQ4PEA==")),
       errc::duplicate_key, 400},
      {"key of 15 bytes",
       head_text("GET / HTTP/1.1",
                 with(upgrade_fields(), "Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4P")),
       errc::invalid_key, 400},
      {"key of 17 bytes",
       head_text("GET / HTTP/1.1",
                 with(upgrade_fields(), "Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEBE=")),
       errc::invalid_key, 400},
      {"key not base64",
       head_text("GET / HTTP/1.1",
                 with(upgrade_fields(), "Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!==")),
       errc::invalid_key, 400},
      {"empty key", head_text("GET / HTTP/1.1", with(upgrade_fields(), "Sec-WebSocket-Key", "")),
       errc::invalid_key, 400},
      {"asterisk target", head_text("GET * HTTP/1.1", upgrade_fields()),
       errc::malformed_request_line, 400},
      {"fragment in target", head_text("GET /a#frag HTTP/1.1", upgrade_fields()),
       errc::malformed_request_line, 400},
  };
  for (const ValidationCase& c : cases) {
    const auto result = validate(c.text);
    EXPECT_EQ(result.error(), c.expected) << c.what << ": " << result.error().message();
    EXPECT_EQ(ws::http_status_for(result.error()), c.status) << c.what;
  }
}

TEST(ServerHandshake, RejectsAResponseHeadAsARequest) {
  const auto head = ws::parse_http_head("HTTP/1.1 101 X\r\n\r\n", ws::HttpHeadKind::response);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(ws::validate_upgrade_request(*head).error(), errc::malformed_request_line);
}

TEST(ServerHandshake, AcceptsLaterHttpVersionsAndTokenListsInAnyCase) {
  const auto result = validate(
      head_text("GET / HTTP/1.2", with(with(upgrade_fields(), "Upgrade", "foo/2, WebSocket"),
                                       "Connection", "keep-alive, UPGRADE")));
  EXPECT_TRUE(result.has_value()) << result.error().message();
}

TEST(ServerHandshake, CopiesWhatTheApplicationNeeds) {
  std::vector<HeaderField> fields = upgrade_fields();
  fields.push_back({"Sec-WebSocket-Protocol", "chat, superchat"});
  fields.push_back({"Sec-WebSocket-Protocol", "v2.json"});
  fields.push_back({"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"});
  fields.push_back({"Sec-WebSocket-Extensions", "x-custom"});
  fields.push_back({"Cookie", "session=abc"});
  const UpgradeRequest request = valid_request(fields);
  EXPECT_EQ(request.target, "/chat?room=1");
  EXPECT_EQ(request.path, "/chat");
  EXPECT_EQ(request.query, "room=1");
  EXPECT_EQ(request.host, "server.example.com");
  EXPECT_EQ(request.origin, "http://example.com");
  EXPECT_EQ(request.key, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(request.subprotocols, (std::vector<std::string>{"chat", "superchat", "v2.json"}));
  EXPECT_EQ(request.extension_offers,
            (std::vector<std::string>{"permessage-deflate; client_max_window_bits", "x-custom"}));
  EXPECT_EQ(request.headers.size(), fields.size());
  EXPECT_EQ(request.header("COOKIE"), "session=abc");
  EXPECT_EQ(request.header("missing"), std::nullopt);
}

TEST(ServerHandshake, LeavesOriginEmptyWhenNotSent) {
  EXPECT_EQ(valid_request(without(upgrade_fields(), "Origin")).origin, std::nullopt);
}

TEST(ServerHandshake, SplitsTargetsIntoPathAndQuery) {
  struct Case {
    const char* target;
    const char* path;
    const char* query;
    const char* host;
  };
  for (const Case& c :
       {Case{"/", "/", "", "server.example.com"}, Case{"/a/b", "/a/b", "", "server.example.com"},
        Case{"/?x=1", "/", "x=1", "server.example.com"},
        Case{"/p?x=1&y=?", "/p", "x=1&y=?", "server.example.com"},
        // RFC 9112 3.2.2: an absolute target's authority wins over Host.
        Case{"http://other.example:8080/p?q", "/p", "q", "other.example:8080"},
        Case{"wss://other.example", "/", "", "other.example"}}) {
    const auto request =
        validate(head_text(std::string("GET ") + c.target + " HTTP/1.1", upgrade_fields()));
    ASSERT_TRUE(request.has_value()) << c.target;
    EXPECT_EQ(request->target, c.target);
    EXPECT_EQ(request->path, c.path) << c.target;
    EXPECT_EQ(request->query, c.query) << c.target;
    EXPECT_EQ(request->host, c.host) << c.target;
  }
}

// ---------------------------------------------------------------------------
// Detection (is_upgrade)

TEST(ServerHandshake, DetectsUpgradeRequests) {
  EXPECT_TRUE(ws::is_upgrade(valid_upgrade_request()));
  // A head handed over without its final empty line still counts.
  const std::string head = valid_upgrade_request();
  EXPECT_TRUE(ws::is_upgrade(head.substr(0, head.size() - 2)));
  // Detection leaves the method and key to validation, which answers 405/400.
  EXPECT_TRUE(ws::is_upgrade(head_text("POST / HTTP/1.1", upgrade_fields())));
  EXPECT_TRUE(
      ws::is_upgrade(head_text("GET / HTTP/1.1", without(upgrade_fields(), "Sec-WebSocket-Key"))));
  EXPECT_TRUE(
      ws::is_upgrade("GET / HTTP/1.1\r\nconnection: keep-alive, upgrade\r\n"
                     "UPGRADE: WebSocket\r\n\r\n"));
}

TEST(ServerHandshake, DetectsAnOversizedUpgradeSoItsValidationCanAnswer431) {
  const std::string text =
      head_text("GET / HTTP/1.1", with(upgrade_fields(), "Cookie", std::string(20000, 'c')));
  EXPECT_TRUE(ws::is_upgrade(text));
  EXPECT_EQ(ws::parse_http_head(text).error(), errc::head_too_large);
}

TEST(ServerHandshake, DoesNotDetectOtherRequests) {
  EXPECT_FALSE(ws::is_upgrade("GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_FALSE(ws::is_upgrade(head_text("GET / HTTP/1.1", without(upgrade_fields(), "Upgrade"))));
  EXPECT_FALSE(
      ws::is_upgrade(head_text("GET / HTTP/1.1", without(upgrade_fields(), "Connection"))));
  EXPECT_FALSE(ws::is_upgrade("GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"));
  EXPECT_FALSE(ws::is_upgrade(""));
  EXPECT_FALSE(ws::is_upgrade("garbage"));
  EXPECT_FALSE(ws::is_upgrade(std::string_view("\0\xff\r\n\r\n", 6)));
  EXPECT_FALSE(
      ws::is_upgrade("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\n\r\n"));
  // A malformed head is not an upgrade, even with the right fields.
  EXPECT_FALSE(
      ws::is_upgrade("GET / HTTP/1.1\r\nUpgrade : websocket\r\nConnection: upgrade\r\n\r\n"));
}

TEST(ServerHandshake, DetectsUpgradeOnAParsedHead) {
  const std::string text = valid_upgrade_request();
  const auto head = ws::parse_http_head(text);
  ASSERT_TRUE(head.has_value());
  EXPECT_TRUE(ws::is_upgrade(*head));
}

// ---------------------------------------------------------------------------
// The 101 response (RFC 6455 4.2.2)

TEST(ServerHandshake, BuildsTheExactSwitchingProtocolsResponse) {
  const auto response = ws::build_accept_response(valid_request(), AcceptOptions{});
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->text,
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
  EXPECT_EQ(response->subprotocol, std::nullopt);
  EXPECT_EQ(response->extensions, "");
}

// Every optional field, byte for byte: the text stays the same now that
// build_connect_response (RFC 8441) shares the negotiation.
TEST(ServerHandshake, BuildsTheExactResponseWithEveryOptionalField) {
  AcceptOptions options;
  options.subprotocols = {"chat"};
  options.negotiate_extensions = [](std::span<const std::string>) {
    return std::string(" x-ext; a=1 ");
  };
  options.extra_headers = {{"Set-Cookie", "id=1"}, {"X-Server", "ws"}};
  const UpgradeRequest request =
      valid_request(with(with(upgrade_fields(), "Sec-WebSocket-Protocol", "superchat, chat"),
                         "Sec-WebSocket-Extensions", "x-ext"));
  const auto response = ws::build_accept_response(request, options);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->text,
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Sec-WebSocket-Protocol: chat\r\n"
            "Sec-WebSocket-Extensions: x-ext; a=1\r\n"
            "Set-Cookie: id=1\r\n"
            "X-Server: ws\r\n"
            "\r\n");
  EXPECT_EQ(response->subprotocol, "chat");
  EXPECT_EQ(response->extensions, "x-ext; a=1");
}

UpgradeRequest request_offering(std::string_view protocols) {
  return valid_request(with(upgrade_fields(), "Sec-WebSocket-Protocol", protocols));
}

TEST(ServerHandshake, SelectsTheFirstPreferredSubprotocolTheClientOffered) {
  AcceptOptions options;
  options.subprotocols = {"v3", "v2", "v1"};
  const auto response = ws::build_accept_response(request_offering("v1, v2"), options);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->subprotocol, "v2");
  EXPECT_NE(response->text.find("\r\nSec-WebSocket-Protocol: v2\r\n"), std::string::npos);
}

TEST(ServerHandshake, ComparesSubprotocolNamesExactly) {
  AcceptOptions options;
  options.subprotocols = {"Chat"};
  const auto response = ws::build_accept_response(request_offering("chat"), options);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->subprotocol, std::nullopt);
  EXPECT_EQ(response->text.find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(ServerHandshake, SelectsASubprotocolByCallback) {
  AcceptOptions options;
  std::vector<std::string> seen;
  options.select_subprotocol =
      [&seen](std::span<const std::string> offered) -> std::optional<std::string> {
    seen.assign(offered.begin(), offered.end());
    return offered.back();
  };
  const auto response = ws::build_accept_response(request_offering("a, b, c"), options);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(response->subprotocol, "c");
}

TEST(ServerHandshake, UsesTheCallbackOnlyWhenThePreferenceListFindsNothing) {
  AcceptOptions options;
  options.subprotocols = {"b"};
  int calls = 0;
  options.select_subprotocol = [&calls](std::span<const std::string>) {
    ++calls;
    return std::optional<std::string>("a");
  };
  EXPECT_EQ(ws::build_accept_response(request_offering("a, b"), options)->subprotocol, "b");
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(ws::build_accept_response(request_offering("a"), options)->subprotocol, "a");
  EXPECT_EQ(calls, 1);
}

TEST(ServerHandshake, IgnoresACallbackChoiceThatWasNotOffered) {
  AcceptOptions options;
  options.select_subprotocol = [](std::span<const std::string>) {
    return std::optional<std::string>("evil\r\nX-Injected: 1");
  };
  const auto response = ws::build_accept_response(request_offering("a"), options);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->subprotocol, std::nullopt);
  EXPECT_EQ(response->text.find("Injected"), std::string::npos);
}

TEST(ServerHandshake, SkipsSubprotocolSelectionWhenNoneOffered) {
  AcceptOptions options;
  options.subprotocols = {"chat"};
  bool called = false;
  options.select_subprotocol = [&called](std::span<const std::string>) {
    called = true;
    return std::optional<std::string>("chat");
  };
  EXPECT_EQ(ws::build_accept_response(valid_request(), options)->subprotocol, std::nullopt);
  EXPECT_FALSE(called);
}

TEST(ServerHandshake, PassesExtensionOffersToTheNegotiationHook) {
  const UpgradeRequest request = valid_request(with(upgrade_fields(), "Sec-WebSocket-Extensions",
                                                    "permessage-deflate; client_max_window_bits"));
  AcceptOptions options;
  std::vector<std::string> seen;
  options.negotiate_extensions = [&seen](std::span<const std::string> offers) {
    seen.assign(offers.begin(), offers.end());
    return std::string("permessage-deflate");
  };
  const auto response = ws::build_accept_response(request, options);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(seen, (std::vector<std::string>{"permessage-deflate; client_max_window_bits"}));
  EXPECT_EQ(response->extensions, "permessage-deflate");
  EXPECT_NE(response->text.find("\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"),
            std::string::npos);
}

TEST(ServerHandshake, SendsNoExtensionsWhenTheHookDeclinesOrNothingWasOffered) {
  AcceptOptions options;
  int calls = 0;
  options.negotiate_extensions = [&calls](std::span<const std::string>) {
    ++calls;
    return std::string();
  };
  EXPECT_EQ(ws::build_accept_response(valid_request(), options)->extensions, "");
  EXPECT_EQ(calls, 0);  // nothing offered: not asked
  const UpgradeRequest offering =
      valid_request(with(upgrade_fields(), "Sec-WebSocket-Extensions", "x-foo"));
  const auto response = ws::build_accept_response(offering, options);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(response->text.find("Sec-WebSocket-Extensions"), std::string::npos);
}

TEST(ServerHandshake, RefusesAnExtensionValueThatWouldInjectLines) {
  const UpgradeRequest request =
      valid_request(with(upgrade_fields(), "Sec-WebSocket-Extensions", "x-foo"));
  AcceptOptions options;
  options.negotiate_extensions = [](std::span<const std::string>) {
    return std::string("x-foo\r\nSet-Cookie: a=b");
  };
  EXPECT_EQ(ws::build_accept_response(request, options).error(), errc::invalid_handshake_option);
}

TEST(ServerHandshake, AppendsExtraResponseHeaders) {
  AcceptOptions options;
  options.extra_headers = {{"Set-Cookie", "session=1; HttpOnly"}, {"X-Server", "ws"}};
  const auto response = ws::build_accept_response(valid_request(), options);
  ASSERT_TRUE(response.has_value());
  const ws::HttpHead head = parse_response(response->text);
  EXPECT_EQ(head.status_code, 101);
  EXPECT_EQ(ws::find_header(head, "set-cookie"), "session=1; HttpOnly");
  EXPECT_EQ(ws::find_header(head, "x-server"), "ws");
  EXPECT_EQ(head.size, response->text.size());
}

TEST(ServerHandshake, RefusesExtraHeadersThatAreInvalidOrClashWithTheHandshake) {
  for (const HeaderField& bad :
       {HeaderField{"Bad Name", "x"}, HeaderField{"X", "a\r\nb: c"}, HeaderField{"", "x"},
        HeaderField{"sec-websocket-accept", "x"}, HeaderField{"Connection", "close"},
        HeaderField{"Content-Length", "5"}}) {
    AcceptOptions options;
    options.extra_headers = {bad};
    EXPECT_EQ(ws::build_accept_response(valid_request(), options).error(),
              errc::invalid_handshake_option)
        << bad.name;
  }
}

// ---------------------------------------------------------------------------
// Origin allow-list (RFC 6455 4.2.2 item 4, 10.2)

TEST(ServerHandshake, AllowsListedOriginsCaseInsensitively) {
  const std::vector<std::string> allowed = {"https://app.example.com", "http://localhost:8080"};
  const auto with_origin = [](std::string_view origin) {
    return valid_request(with(upgrade_fields(), "Origin", origin));
  };
  EXPECT_TRUE(ws::origin_allowed(with_origin("https://app.example.com"), allowed));
  EXPECT_TRUE(ws::origin_allowed(with_origin("HTTPS://App.Example.COM"), allowed));
  EXPECT_TRUE(ws::origin_allowed(with_origin("https://app.example.com:443"), allowed));
  EXPECT_TRUE(ws::origin_allowed(with_origin("http://localhost:8080"), allowed));
  EXPECT_FALSE(ws::origin_allowed(with_origin("http://app.example.com"), allowed));
  EXPECT_FALSE(ws::origin_allowed(with_origin("https://app.example.com:8443"), allowed));
  EXPECT_FALSE(ws::origin_allowed(with_origin("https://evil.example.com"), allowed));
  EXPECT_FALSE(ws::origin_allowed(with_origin("https://app.example.com.evil.com"), allowed));
  EXPECT_FALSE(ws::origin_allowed(with_origin("http://localhost"), allowed));
  EXPECT_FALSE(ws::origin_allowed(with_origin("null"), allowed));
  EXPECT_TRUE(ws::origin_allowed(with_origin("null"), std::vector<std::string>{"null"}));
  EXPECT_FALSE(ws::origin_allowed(valid_request(without(upgrade_fields(), "Origin")), allowed));
}

// ---------------------------------------------------------------------------
// Rejections

TEST(ServerHandshake, BuildsARejectionWithStatusHeadersAndBody) {
  const std::vector<HeaderField> headers = {{"WWW-Authenticate", "Bearer"}};
  const auto response = ws::build_rejection_response(401, "log in first\n", headers);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(*response,
            "HTTP/1.1 401 Unauthorized\r\n"
            "WWW-Authenticate: Bearer\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 13\r\n"
            "Connection: close\r\n"
            "\r\n"
            "log in first\n");
}

TEST(ServerHandshake, LetsTheApplicationChooseContentTypeAndConnection) {
  const std::vector<HeaderField> headers = {{"Content-Type", "application/json"},
                                            {"Connection", "keep-alive"},
                                            {"Location", "/elsewhere"}};
  const auto response = ws::build_rejection_response(302, "{}", headers);
  ASSERT_TRUE(response.has_value());
  const ws::HttpHead head = parse_response(*response);
  EXPECT_EQ(head.status_code, 302);
  EXPECT_EQ(head.reason, "Found");
  EXPECT_EQ(ws::count_headers(head, "content-type"), 1u);
  EXPECT_EQ(ws::find_header(head, "content-type"), "application/json");
  EXPECT_EQ(ws::find_header(head, "connection"), "keep-alive");
  EXPECT_EQ(ws::find_header(head, "location"), "/elsewhere");
  EXPECT_EQ(response->substr(head.size), "{}");
}

TEST(ServerHandshake, RejectionWithoutBodyHasZeroLengthAndNoContentType) {
  const auto response = ws::build_rejection_response(403, "");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(*response, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST(ServerHandshake, RejectionWithAnUncommonStatusHasAnEmptyReason) {
  const auto response = ws::build_rejection_response(499, "");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->substr(0, 14), "HTTP/1.1 499 \r");
  EXPECT_EQ(parse_response(*response).status_code, 499);
}

TEST(ServerHandshake, RefusesInvalidRejections) {
  EXPECT_EQ(ws::build_rejection_response(101, "").error(), errc::invalid_handshake_option);
  EXPECT_EQ(ws::build_rejection_response(99, "").error(), errc::invalid_handshake_option);
  EXPECT_EQ(ws::build_rejection_response(600, "").error(), errc::invalid_handshake_option);
  const std::vector<HeaderField> injected = {{"Location", "/a\r\nSet-Cookie: x"}};
  EXPECT_EQ(ws::build_rejection_response(302, "", injected).error(),
            errc::invalid_handshake_option);
  const std::vector<HeaderField> length = {{"content-length", "99"}};
  EXPECT_EQ(ws::build_rejection_response(400, "", length).error(), errc::invalid_handshake_option);
}

TEST(ServerHandshake, ErrorResponseForAWrongVersionIs426WithVersion13) {
  const std::string response = ws::build_error_response(errc::unsupported_websocket_version);
  const ws::HttpHead head = parse_response(response);
  EXPECT_EQ(head.status_code, 426);
  EXPECT_EQ(head.reason, "Upgrade Required");
  EXPECT_EQ(ws::find_header(head, "sec-websocket-version"), "13");
  EXPECT_TRUE(ws::has_token(head, "upgrade", "websocket"));
  EXPECT_TRUE(ws::has_token(head, "connection", "upgrade"));
  EXPECT_EQ(ws::content_length(head), response.size() - head.size);
}

TEST(ServerHandshake, ErrorResponsesCarryTheStatusAndAShortReason) {
  struct Case {
    errc error;
    int status;
  };
  for (const Case& c : {Case{errc::missing_key, 400}, Case{errc::head_too_large, 431},
                        Case{errc::too_many_headers, 431}, Case{errc::method_not_get, 405},
                        Case{errc::obsolete_line_folding, 400}}) {
    const std::string response = ws::build_error_response(c.error);
    const ws::HttpHead head = parse_response(response);
    EXPECT_EQ(head.status_code, c.status);
    EXPECT_EQ(response.substr(head.size), ws::make_error_code(c.error).message() + "\n");
    EXPECT_EQ(ws::find_header(head, "connection"), "close");
  }
  const std::string not_get = ws::build_error_response(errc::method_not_get);
  const ws::HttpHead head = parse_response(not_get);
  EXPECT_EQ(ws::find_header(head, "allow"), "GET");
}

}  // namespace
