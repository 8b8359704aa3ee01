// Redirects of the opening handshake (ws/driver/redirect.hpp): which
// statuses are followed (RFC 9110 15.4), how a Location is resolved
// (RFC 9110 10.2.2, RFC 3986 5.2), the refused downgrade, the limit, and
// the request fields dropped when the origin changes (RFC 6454).
#include "ws/driver/redirect.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ws {
namespace {

Rejected answer(int status, const std::vector<HttpHeader>& headers) {
  Rejected rejected;
  rejected.status = status;
  rejected.headers = headers;
  return rejected;
}

// RFC 9110 15.4.2-15.4.9: 301, 302, 303, 307 and 308 name another URI in
// Location; the upgrade is a GET, so all five repeat it there. 300 (a
// choice), 304 (a cache's answer), 305 and 306 (deprecated) are not.
TEST(Redirect, FollowsTheFiveRedirectStatusesOnly) {
  const std::vector<HttpHeader> location{{"Location", "ws://b.example/next"}};
  for (const int status : {301, 302, 303, 307, 308}) {
    const RedirectDecision decision =
        decide_redirect("ws://a.example/", {}, answer(status, location), 0);
    EXPECT_EQ(decision.verdict, RedirectVerdict::follow) << status;
    EXPECT_EQ(decision.url, "ws://b.example/next") << status;
    EXPECT_EQ(decision.permanent, status == 301 || status == 308) << status;
  }
  for (const int status : {200, 300, 304, 305, 306, 400, 401, 404, 503}) {
    const RedirectDecision decision =
        decide_redirect("ws://a.example/", {}, answer(status, location), 0);
    EXPECT_EQ(decision.verdict, RedirectVerdict::not_followed) << status;
    EXPECT_FALSE(decision.error) << status;
  }
}

// RFC 9110 10.2.2: Location may be relative, resolved against the target
// URI (RFC 3986 5.2); a fragment is dropped (a WebSocket URL has none).
TEST(Redirect, ResolvesLocationsAgainstTheCurrentUrl) {
  struct Row {
    const char* base;
    const char* location;
    const char* expected;
  };
  const Row rows[] = {
      {"ws://a.example/chat/room?x=1", "wss://b.example:8443/p?q", "wss://b.example:8443/p?q"},
      {"ws://a.example/chat/room", "WS://B.Example/Up", "ws://b.example/Up"},
      {"ws://a.example/chat/room", "/other", "ws://a.example/other"},
      {"ws://a.example:9000/chat/room", "/other?k=v", "ws://a.example:9000/other?k=v"},
      {"ws://a.example/chat/room", "lobby", "ws://a.example/chat/lobby"},
      {"ws://a.example/chat/room", "../up/./x", "ws://a.example/up/x"},
      {"ws://a.example/chat/room", "../../../../top", "ws://a.example/top"},
      {"ws://a.example/chat/room?x=1", "?y=2", "ws://a.example/chat/room?y=2"},
      {"wss://a.example/chat", "//c.example:444/s", "wss://c.example:444/s"},
      {"ws://a.example/chat", "/s#fragment", "ws://a.example/s"},
      {"ws://a.example/chat", "  /s  ", "ws://a.example/s"},
      {"ws://[::1]:9000/chat", "/s", "ws://[::1]:9000/s"},
      {"ws://a.example:80/chat", "wss://a.example:443/s", "wss://a.example/s"},
      // http(s) as the WHATWG WebSocket constructor maps them.
      {"ws://a.example/", "http://b.example/h", "ws://b.example/h"},
      {"ws://a.example/", "https://b.example/h", "wss://b.example/h"},
      {"ws://a.example/", "HTTPS://b.example:8443", "wss://b.example:8443/"},
  };
  for (const Row& row : rows) {
    const Result<std::string> resolved = resolve_redirect_location(row.base, row.location);
    ASSERT_TRUE(resolved) << row.base << " + " << row.location;
    EXPECT_EQ(*resolved, row.expected) << row.base << " + " << row.location;
  }
}

TEST(Redirect, RefusesLocationsThatCannotBeConnectedTo) {
  struct Row {
    const char* location;
    redirect_errc error;
  };
  const Row rows[] = {
      {"ftp://b.example/f", redirect_errc::unsupported_scheme},
      {"mailto:someone@example.com", redirect_errc::unsupported_scheme},
      {"javascript:alert(1)", redirect_errc::unsupported_scheme},
      {"ws://user:pass@b.example/", redirect_errc::invalid_location},
      {"ws:b.example/", redirect_errc::invalid_location},
      {"ws://b.example:99999/", redirect_errc::invalid_location},
      {"ws:///nohost", redirect_errc::invalid_location},
      {"/a path with spaces", redirect_errc::invalid_location},
      {"", redirect_errc::invalid_location},
      {"#only-a-fragment", redirect_errc::invalid_location},
  };
  for (const Row& row : rows) {
    const std::vector<HttpHeader> headers{{"Location", row.location}};
    const RedirectDecision decision =
        decide_redirect("ws://a.example/", {}, answer(302, headers), 0);
    EXPECT_EQ(decision.verdict, RedirectVerdict::refused) << row.location;
    EXPECT_EQ(decision.error, make_error_code(row.error)) << row.location;
  }
}

// A redirect without a Location names nowhere; two leave no choice.
TEST(Redirect, NeedsExactlyOneLocation) {
  const std::vector<HttpHeader> none{{"Content-Type", "text/plain"}};
  const std::vector<HttpHeader> two{{"Location", "/a"}, {"location", "/b"}};
  for (const auto* headers : {&none, &two}) {
    const RedirectDecision decision =
        decide_redirect("ws://a.example/", {}, answer(307, *headers), 0);
    EXPECT_EQ(decision.verdict, RedirectVerdict::refused);
    EXPECT_EQ(decision.error, make_error_code(redirect_errc::missing_location));
  }
}

// What TLS protected must not go out in clear: wss:// never leads to ws://,
// whether the Location says ws:// or http://; the other way is fine.
TEST(Redirect, NeverFromWssToWs) {
  for (const char* location : {"ws://a.example/", "http://a.example/"}) {
    const std::vector<HttpHeader> headers{{"Location", location}};
    const RedirectDecision decision =
        decide_redirect("wss://a.example/", {}, answer(301, headers), 0);
    EXPECT_EQ(decision.verdict, RedirectVerdict::refused) << location;
    EXPECT_EQ(decision.error, make_error_code(redirect_errc::insecure_redirect)) << location;
  }
  const std::vector<HttpHeader> up{{"Location", "wss://a.example/"}};
  EXPECT_EQ(decide_redirect("ws://a.example/", {}, answer(301, up), 0).verdict,
            RedirectVerdict::follow);
  const std::vector<HttpHeader> relative{{"Location", "/elsewhere"}};
  const RedirectDecision same = decide_redirect("wss://a.example/", {}, answer(302, relative), 0);
  EXPECT_EQ(same.url, "wss://a.example/elsewhere");
}

// The limit counts redirects in a row: the (limit+1)th is refused, which
// also ends any loop. 0 follows none: the 3xx is an ordinary refusal.
TEST(Redirect, TheLimitEndsChainsAndLoops) {
  const std::vector<HttpHeader> headers{{"Location", "/loop"}};
  RedirectSettings settings;  // 5
  for (std::uint32_t so_far = 0; so_far < 5; ++so_far) {
    EXPECT_EQ(decide_redirect("ws://a/loop", {}, answer(302, headers), so_far, settings).verdict,
              RedirectVerdict::follow);
  }
  const RedirectDecision sixth = decide_redirect("ws://a/loop", {}, answer(302, headers), 5);
  EXPECT_EQ(sixth.verdict, RedirectVerdict::refused);
  EXPECT_EQ(sixth.error, make_error_code(redirect_errc::too_many_redirects));

  settings.max_redirects = 0;
  const RedirectDecision off = decide_redirect("ws://a/", {}, answer(302, headers), 0, settings);
  EXPECT_EQ(off.verdict, RedirectVerdict::not_followed);
  EXPECT_FALSE(off.error);
}

// Credentials are the first server's: a change of scheme, host or port
// drops Authorization and Cookie (any case); other fields, the Origin and
// the subprotocols stay. The same origin keeps everything.
TEST(Redirect, DropsCredentialsWhenTheOriginChanges) {
  ClientHandshakeOptions options;
  options.origin = "https://app.example";
  options.subprotocols = {"chat"};
  options.extra_headers = {
      {"authorization", "Bearer t"}, {"X-Trace", "1"}, {"COOKIE", "s=1"}, {"Cookie", "t=2"}};
  struct Row {
    const char* location;
    bool cross_origin;
  };
  const Row rows[] = {
      {"/same/origin", false},
      {"ws://a.example:80/explicit-default-port", false},
      {"ws://b.example/other-host", true},
      {"ws://a.example:8080/other-port", true},
      {"wss://a.example/other-scheme", true},
  };
  for (const Row& row : rows) {
    const std::vector<HttpHeader> headers{{"Location", row.location}};
    const RedirectDecision decision =
        decide_redirect("ws://a.example/", options, answer(307, headers), 0);
    ASSERT_EQ(decision.verdict, RedirectVerdict::follow) << row.location;
    EXPECT_EQ(decision.cross_origin, row.cross_origin) << row.location;
    EXPECT_EQ(decision.handshake.origin, options.origin);
    EXPECT_EQ(decision.handshake.subprotocols, options.subprotocols);
    std::vector<std::string> names;
    for (const HeaderField& field : decision.handshake.extra_headers) names.push_back(field.name);
    if (row.cross_origin) {
      EXPECT_EQ(names, std::vector<std::string>{"X-Trace"}) << row.location;
    } else {
      EXPECT_EQ(names.size(), 4U) << row.location;
    }
  }
}

TEST(Redirect, ErrorsHaveACategoryAndMessages) {
  const std::error_code error = make_error_code(redirect_errc::insecure_redirect);
  EXPECT_STREQ(error.category().name(), "ws.redirect");
  EXPECT_NE(error.message().find("wss://"), std::string::npos);
}

}  // namespace
}  // namespace ws
