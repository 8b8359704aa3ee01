// The opening handshake carried by an HTTP/2 extended CONNECT (RFC 8441):
// what an HTTP/2 layer hands over is validated into the same UpgradeRequest
// as an HTTP/1.1 upgrade, and the answer is a 200 with the WebSocket fields.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "support/handshake_text.hpp"
#include "ws/handshake/http_head_parser.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws {
namespace {

// The request of RFC 8441 5.1's example.
ExtendedConnectRequest rfc_example() {
  return test::extended_connect({{"sec-websocket-protocol", "chat, superchat"},
                                 {"sec-websocket-extensions", "permessage-deflate"},
                                 {"sec-websocket-version", "13"},
                                 {"origin", "http://www.example.com"}});
}

ExtendedConnectRequest changed(const std::function<void(ExtendedConnectRequest&)>& change) {
  ExtendedConnectRequest request = rfc_example();
  change(request);
  return request;
}

UpgradeRequest valid(const ExtendedConnectRequest& request) {
  Result<UpgradeRequest> validated = validate_extended_connect(request);
  EXPECT_TRUE(validated.has_value()) << validated.error().message();
  return validated.has_value() ? std::move(validated).value() : UpgradeRequest{};
}

void remove_field(ExtendedConnectRequest& request, std::string_view name) {
  std::erase_if(request.headers, [name](const HeaderField& f) { return f.name == name; });
}

// ---------------------------------------------------------------------------
// The request (RFC 8441 4, 5)

TEST(ExtendedConnect, TheRfcExampleIsAWebSocketRequest) {
  const UpgradeRequest request = valid(rfc_example());
  EXPECT_EQ(request.carriage, HandshakeCarriage::http2_extended_connect);
  EXPECT_EQ(request.target, "/chat");
  EXPECT_EQ(request.path, "/chat");
  EXPECT_EQ(request.query, "");
  EXPECT_EQ(request.host, "server.example.com");
  EXPECT_EQ(request.origin, "http://www.example.com");
  EXPECT_EQ(request.subprotocols, (std::vector<std::string>{"chat", "superchat"}));
  EXPECT_EQ(request.extension_offers, std::vector<std::string>{"permessage-deflate"});
  EXPECT_EQ(request.key, "");
  ASSERT_EQ(request.headers.size(), 4U);
  EXPECT_EQ(request.headers[2].name, "sec-websocket-version");
  EXPECT_EQ(request.header("Sec-WebSocket-Version"), "13");
}

// An HTTP/1.1 upgrade says so too, so an application can ask.
TEST(ExtendedConnect, AnHttp1UpgradeSaysItsCarriage) {
  EXPECT_EQ(UpgradeRequest{}.carriage, HandshakeCarriage::http1_upgrade);
  const auto head = parse_http_head(
      "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  ASSERT_TRUE(head.has_value());
  const auto request = validate_upgrade_request(*head);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->carriage, HandshakeCarriage::http1_upgrade);
}

struct Fault {
  const char* rule;
  std::function<void(ExtendedConnectRequest&)> change;
  errc error;
};

TEST(ExtendedConnect, RejectsEachFaultWithItsError) {
  const Fault faults[] = {
      // RFC 8441 5: the CONNECT request replaces RFC 6455's GET; methods are
      // case-sensitive (RFC 9110 9.1).
      {"5 :method GET", [](auto& r) { r.method = "GET"; }, errc::method_not_connect},
      {"5 :method lower-case", [](auto& r) { r.method = "connect"; }, errc::method_not_connect},
      {"5 :method absent", [](auto& r) { r.method.reset(); }, errc::method_not_connect},
      // RFC 8441 5: :protocol MUST be included with the value "websocket";
      // without it this is a plain CONNECT (a tunnel, RFC 9113 8.5).
      {"5 :protocol absent", [](auto& r) { r.protocol.reset(); }, errc::missing_protocol_websocket},
      {"5 :protocol another", [](auto& r) { r.protocol = "connect-udp"; },
       errc::missing_protocol_websocket},
      {"5 :protocol in another case", [](auto& r) { r.protocol = "WebSocket"; },
       errc::missing_protocol_websocket},
      {"5 :protocol empty", [](auto& r) { r.protocol = ""; }, errc::missing_protocol_websocket},
      // RFC 8441 4: with :protocol, :scheme and :path MUST be included.
      {"4 :scheme absent", [](auto& r) { r.scheme.reset(); }, errc::invalid_pseudo_header},
      {"4 :scheme empty", [](auto& r) { r.scheme = ""; }, errc::invalid_pseudo_header},
      {"4 :path absent", [](auto& r) { r.path.reset(); }, errc::invalid_pseudo_header},
      {"4 :path empty", [](auto& r) { r.path = ""; }, errc::invalid_pseudo_header},
      // RFC 9113 8.3.1: :path of an http(s) URI is origin-form; fragments
      // never belong in a target.
      {"4 :path not origin-form", [](auto& r) { r.path = "chat"; }, errc::invalid_pseudo_header},
      {"4 :path absolute-form", [](auto& r) { r.path = "https://a/chat"; },
       errc::invalid_pseudo_header},
      {"4 :path with a fragment", [](auto& r) { r.path = "/chat#top"; },
       errc::invalid_pseudo_header},
      // RFC 8441 5: the Host information is in :authority; an http(s) URI's
      // host is never empty (RFC 9110 4.2.1).
      {"5 :authority absent", [](auto& r) { r.authority.reset(); }, errc::invalid_pseudo_header},
      {"5 :authority empty", [](auto& r) { r.authority = ""; }, errc::invalid_pseudo_header},
      // RFC 8441 5: Sec-WebSocket-Version is used as RFC 6455 defines it
      // (4.2.1 item 6: exactly 13).
      {"5 version absent", [](auto& r) { remove_field(r, "sec-websocket-version"); },
       errc::unsupported_websocket_version},
      {"5 version 8", [](auto& r) { r.headers[2].value = "8"; },
       errc::unsupported_websocket_version},
      {"5 version twice",
       [](auto& r) {
         r.headers.push_back({"sec-websocket-version", "13"});
       },
       errc::unsupported_websocket_version},
      // The documented order: the first failing check decides.
      {"order: :method before :protocol",
       [](auto& r) {
         r.method = "GET";
         r.protocol.reset();
       },
       errc::method_not_connect},
      {"order: :protocol before :scheme",
       [](auto& r) {
         r.protocol.reset();
         r.scheme.reset();
       },
       errc::missing_protocol_websocket},
      {"order: pseudo-headers before the version",
       [](auto& r) {
         r.authority.reset();
         r.headers[2].value = "8";
       },
       errc::invalid_pseudo_header},
  };
  for (const Fault& fault : faults) {
    const Result<UpgradeRequest> result = validate_extended_connect(changed(fault.change));
    ASSERT_FALSE(result.has_value()) << fault.rule;
    EXPECT_EQ(result.error(), fault.error) << fault.rule;
  }
}

// The status an HTTP/2 layer answers each with: a wrong version gets 426,
// as over HTTP/1.1 (RFC 6455 4.4), the malformed requests 400.
TEST(ExtendedConnect, FaultsMapToHttpStatuses) {
  EXPECT_EQ(http_status_for(errc::method_not_connect), 400);
  EXPECT_EQ(http_status_for(errc::missing_protocol_websocket), 400);
  EXPECT_EQ(http_status_for(errc::invalid_pseudo_header), 400);
  EXPECT_EQ(http_status_for(errc::unsupported_websocket_version), 426);
  for (const errc e :
       {errc::method_not_connect, errc::missing_protocol_websocket, errc::invalid_pseudo_header}) {
    EXPECT_EQ(make_error_code(e), condition::handshake_failed);
    EXPECT_NE(make_error_code(e).message(), "unknown ws error");
  }
}

// RFC 8441 5: Sec-WebSocket-Key is not processed over HTTP/2 (the
// :protocol pseudo-header does its work): none is needed, one sent (valid
// or not) is harmless and kept only among the header fields.
TEST(ExtendedConnect, NeedsNoKeyAndIgnoresOne) {
  for (const char* key : {"dGhlIHNhbXBsZSBub25jZQ==", "not a key"}) {
    const UpgradeRequest request = valid(changed([key](ExtendedConnectRequest& r) {
      r.headers.push_back({"sec-websocket-key", key});
    }));
    EXPECT_EQ(request.key, "");
    EXPECT_EQ(request.header("sec-websocket-key"), key);
  }
}

// RFC 8441 5: the rest of the target URI is the WebSocket URI's; path and
// query split as for HTTP/1.1 (RFC 6455 3).
TEST(ExtendedConnect, SplitsThePathIntoPathAndQuery) {
  struct Row {
    const char* path;
    const char* expected_path;
    const char* expected_query;
  };
  for (const Row& row : {Row{"/chat?room=1", "/chat", "room=1"}, Row{"/?x", "/", "x"},
                         Row{"/", "/", ""}, Row{"/a/b?", "/a/b", ""}}) {
    const UpgradeRequest request =
        valid(changed([&row](ExtendedConnectRequest& r) { r.path = row.path; }));
    EXPECT_EQ(request.target, row.path);
    EXPECT_EQ(request.path, row.expected_path) << row.path;
    EXPECT_EQ(request.query, row.expected_query) << row.path;
  }
}

// RFC 8441 5: the Host information is conveyed by :authority.
TEST(ExtendedConnect, TakesTheHostFromTheAuthority) {
  EXPECT_EQ(valid(changed([](auto& r) { r.authority = "example.com:8443"; })).host,
            "example.com:8443");
}

// RFC 8441 5: Origin, Sec-WebSocket-Protocol and Sec-WebSocket-Extensions
// are used as RFC 6455 defines them: copied as validate_upgrade_request does.
TEST(ExtendedConnect, CopiesTheWebSocketFieldsAsOverHttp1) {
  const UpgradeRequest request = valid(changed([](ExtendedConnectRequest& r) {
    remove_field(r, "origin");
    r.headers.push_back({"sec-websocket-protocol", "v2 , ,v3"});
    r.headers.push_back({"sec-websocket-extensions", "x-two; a=1"});
    r.headers.push_back({"cookie", "id=7"});
  }));
  EXPECT_EQ(request.origin, std::nullopt);
  EXPECT_EQ(request.subprotocols, (std::vector<std::string>{"chat", "superchat", "v2", "v3"}));
  EXPECT_EQ(request.extension_offers,
            (std::vector<std::string>{"permessage-deflate", "x-two; a=1"}));
  EXPECT_EQ(request.header("cookie"), "id=7");
  EXPECT_EQ(request.headers.size(), 6U);
}

// ---------------------------------------------------------------------------
// The response (RFC 8441 5: 200, the WebSocket fields, no Upgrade,
// Connection or Sec-WebSocket-Accept)

TEST(ExtendedConnect, AnswersTheRfcExampleWith200AndTheChosenSubprotocol) {
  AcceptOptions options;
  options.subprotocols = {"chat"};
  const Result<ConnectResponse> response = build_connect_response(valid(rfc_example()), options);
  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  ASSERT_EQ(response->fields.size(), 1U);
  EXPECT_EQ(response->fields[0].name, "sec-websocket-protocol");
  EXPECT_EQ(response->fields[0].value, "chat");
  EXPECT_EQ(response->subprotocol, "chat");
  EXPECT_EQ(response->extensions, "");
}

TEST(ExtendedConnect, AnswersWithOnlyTheStatusWhenNothingIsAgreed) {
  const Result<ConnectResponse> response =
      build_connect_response(valid(rfc_example()), AcceptOptions{});
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->fields.empty());
  EXPECT_EQ(response->subprotocol, std::nullopt);
}

// The fields in order, names lower-case (RFC 9113 8.2.1), the extra headers
// after the WebSocket ones; no field of the HTTP/1.1 upgrade.
TEST(ExtendedConnect, SendsTheNegotiatedFieldsInLowerCase) {
  AcceptOptions options;
  options.subprotocols = {"superchat"};
  options.negotiate_extensions = [](std::span<const std::string> offers) {
    EXPECT_EQ(offers.size(), 1U);
    return std::string(" permessage-deflate; server_no_context_takeover ");
  };
  options.extra_headers = {{"Set-Cookie", "session=1; HttpOnly"}, {"X-Server", "ws"}};
  const Result<ConnectResponse> response = build_connect_response(valid(rfc_example()), options);
  ASSERT_TRUE(response.has_value());
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"sec-websocket-protocol", "superchat"},
      {"sec-websocket-extensions", "permessage-deflate; server_no_context_takeover"},
      {"set-cookie", "session=1; HttpOnly"},
      {"x-server", "ws"}};
  ASSERT_EQ(response->fields.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(response->fields[i].name, expected[i].first);
    EXPECT_EQ(response->fields[i].value, expected[i].second);
  }
  EXPECT_EQ(response->extensions, "permessage-deflate; server_no_context_takeover");
}

// The same choice and the same checks as the 101: one request, one set of
// options, both answers agree.
TEST(ExtendedConnect, ChoosesAndChecksAsTheHttp1AnswerDoes) {
  const UpgradeRequest request = valid(rfc_example());
  std::vector<AcceptOptions> cases(4);
  cases[0].subprotocols = {"nope", "superchat", "chat"};
  cases[1].select_subprotocol = [](std::span<const std::string>) {
    return std::optional<std::string>("chat");
  };
  cases[2].select_subprotocol = [](std::span<const std::string>) {
    return std::optional<std::string>("not-offered");
  };
  cases[3].negotiate_extensions = [](std::span<const std::string>) { return std::string("x"); };
  for (const AcceptOptions& options : cases) {
    const Result<AcceptResponse> accept = build_accept_response(request, options);
    const Result<ConnectResponse> connect = build_connect_response(request, options);
    ASSERT_TRUE(accept.has_value());
    ASSERT_TRUE(connect.has_value());
    EXPECT_EQ(connect->subprotocol, accept->subprotocol);
    EXPECT_EQ(connect->extensions, accept->extensions);
  }
  for (const HeaderField& bad :
       {HeaderField{"Bad Name", "x"}, HeaderField{"X", "a\r\nb: c"}, HeaderField{"", "x"},
        HeaderField{"sec-websocket-accept", "x"}, HeaderField{"Connection", "close"},
        HeaderField{"Upgrade", "websocket"}, HeaderField{"Transfer-Encoding", "chunked"},
        HeaderField{"Content-Length", "5"}}) {
    AcceptOptions options;
    options.extra_headers = {bad};
    EXPECT_EQ(build_connect_response(request, options).error(), errc::invalid_handshake_option)
        << bad.name;
  }
  AcceptOptions injecting;
  injecting.negotiate_extensions = [](std::span<const std::string>) {
    return std::string("x\r\nevil: 1");
  };
  EXPECT_EQ(build_connect_response(request, injecting).error(), errc::invalid_handshake_option);
}

}  // namespace
}  // namespace ws
