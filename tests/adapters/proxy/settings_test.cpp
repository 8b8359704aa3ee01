// Proxy URLs (issue 20: "http://[user:pass@]host:port", socks5://,
// socks5h://) and the environment rules (issue 20: http_proxy, https_proxy,
// all_proxy, no_proxy), as tables.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "ws/proxy/error.hpp"
#include "ws/proxy/settings.hpp"

namespace ws::proxy {
namespace {

struct UrlCase {
  std::string_view url;
  ProxyKind kind;
  std::string_view host;
  std::uint16_t port;
  std::optional<std::string_view> user;
  std::string_view password;
};

TEST(ParseProxyUrl, AcceptedForms) {
  const std::vector<UrlCase> cases{
      // Issue 20's forms.
      {"http://proxy.corp:3128", ProxyKind::http, "proxy.corp", 3128, {}, ""},
      {"http://alice:secret@proxy.corp:3128", ProxyKind::http, "proxy.corp", 3128, "alice",
       "secret"},
      {"socks5://127.0.0.1:1080", ProxyKind::socks5, "127.0.0.1", 1080, {}, ""},
      {"socks5h://bob:pw@socks.lan:9050", ProxyKind::socks5h, "socks.lan", 9050, "bob", "pw"},
      // Default ports: 80 for http (its scheme's), 1080 for SOCKS (IANA's).
      {"http://proxy.corp", ProxyKind::http, "proxy.corp", 80, {}, ""},
      {"socks5://proxy.corp", ProxyKind::socks5, "proxy.corp", 1080, {}, ""},
      {"socks5h://proxy.corp/", ProxyKind::socks5h, "proxy.corp", 1080, {}, ""},
      // Scheme and host are case-insensitive (RFC 3986 3.1, 3.2.2).
      {"HTTP://Proxy.Corp:8080/", ProxyKind::http, "proxy.corp", 8080, {}, ""},
      {"SOCKS5H://[::1]:1080", ProxyKind::socks5h, "::1", 1080, {}, ""},
      // IPv6 literals in brackets (RFC 3986 3.2.2), kept without them.
      {"http://[2001:db8::1]:3128", ProxyKind::http, "2001:db8::1", 3128, {}, ""},
      {"http://u:p@[::ffff:127.0.0.1]", ProxyKind::http, "::ffff:127.0.0.1", 80, "u", "p"},
      // User information is percent-decoded (RFC 3986 2.1); the last '@'
      // ends it and the first ':' splits it.
      {"http://al%69ce:p%40ss%3Aword@proxy:1", ProxyKind::http, "proxy", 1, "alice", "p@ss:word"},
      {"http://alice:pa:ss@proxy:2", ProxyKind::http, "proxy", 2, "alice", "pa:ss"},
      {"http://alice@proxy:3", ProxyKind::http, "proxy", 3, "alice", ""},
      {"http://alice:@proxy:4", ProxyKind::http, "proxy", 4, "alice", ""},
      {"socks5://%C3%A9l%C3%A8ve:%20@proxy", ProxyKind::socks5, "proxy", 1080,
       "\xC3\xA9l\xC3\xA8ve", " "},
      // Without a scheme: an http proxy (a common form of http_proxy).
      {"proxy.corp:3128", ProxyKind::http, "proxy.corp", 3128, {}, ""},
      {"proxy.corp", ProxyKind::http, "proxy.corp", 80, {}, ""},
      {"http://proxy:65535", ProxyKind::http, "proxy", 65535, {}, ""},
  };
  for (const UrlCase& c : cases) {
    const auto parsed = parse_proxy_url(c.url);
    ASSERT_TRUE(parsed.has_value()) << c.url << ": " << parsed.error().message();
    EXPECT_EQ(parsed->kind, c.kind) << c.url;
    EXPECT_EQ(parsed->host, c.host) << c.url;
    EXPECT_EQ(parsed->port, c.port) << c.url;
    EXPECT_EQ(parsed->username.has_value(), c.user.has_value()) << c.url;
    if (c.user) {
      EXPECT_EQ(*parsed->username, *c.user) << c.url;
    }
    EXPECT_EQ(parsed->password, c.password) << c.url;
  }
}

TEST(ParseProxyUrl, RefusedForms) {
  const std::vector<std::pair<std::string_view, errc>> cases{
      // Schemes this library does not speak.
      {"https://proxy:443", errc::unsupported_proxy_scheme},
      {"socks4://proxy:1080", errc::unsupported_proxy_scheme},
      {"socks4a://proxy:1080", errc::unsupported_proxy_scheme},
      {"ws://proxy:80", errc::unsupported_proxy_scheme},
      {"://proxy", errc::unsupported_proxy_scheme},
      // Not a proxy URL.
      {"", errc::invalid_proxy_url},
      {"http://", errc::invalid_proxy_url},
      {"http://:3128", errc::invalid_proxy_url},
      {"http://user:pw@", errc::invalid_proxy_url},
      {"http://proxy:", errc::invalid_proxy_url},
      {"http://proxy:0", errc::invalid_proxy_url},
      {"http://proxy:65536", errc::invalid_proxy_url},
      {"http://proxy:+80", errc::invalid_proxy_url},
      {"http://proxy:80x", errc::invalid_proxy_url},
      {"http://proxy/path", errc::invalid_proxy_url},
      {"http://proxy:80/?q", errc::invalid_proxy_url},
      {"http://proxy#frag", errc::invalid_proxy_url},
      {"http://pro xy:80", errc::invalid_proxy_url},
      {"http://proxy:80\r\n", errc::invalid_proxy_url},
      {"http://pr%6Fxy:80", errc::invalid_proxy_url},
      {"http://[::1:80", errc::invalid_proxy_url},
      {"http://[::1]80", errc::invalid_proxy_url},
      {"http://[::1]:", errc::invalid_proxy_url},
      {"http://[not-v6]:80", errc::invalid_proxy_url},
      {"http://::1:80", errc::invalid_proxy_url},
      {"http://us%zzer:pw@proxy", errc::invalid_proxy_url},
      {"http://user:pw%4@proxy", errc::invalid_proxy_url},
      {"http://pr\xC3\xB6xy", errc::invalid_proxy_url},
  };
  for (const auto& [url, error] : cases) {
    EXPECT_EQ(parse_proxy_url(url).error(), error) << url;
  }
}

TEST(ParseProxyUrl, DisplayUrlLeavesThePasswordOut) {
  EXPECT_EQ(display_url(*parse_proxy_url("socks5h://al%40ice:secret@[::1]")),
            "socks5h://al%40ice@[::1]:1080");
  EXPECT_EQ(display_url(*parse_proxy_url("proxy.corp:3128")), "http://proxy.corp:3128");
}

// ---- Environment -----------------------------------------------------------------

using Vars = std::map<std::string, std::string, std::less<>>;

Environment fake(Vars vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto found = vars.find(name);
    if (found == vars.end()) return std::nullopt;
    return found->second;
  };
}

WsUrl url(std::string_view text) {
  auto parsed = parse_ws_url(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return *parsed;
}

struct EnvCase {
  std::string_view rule;  // issue 20's rule this row checks
  std::string_view ws_url;
  Vars vars;
  std::string_view proxy_host;  // empty: direct
  std::string_view variable;
};

TEST(ProxyFor, IssueRules) {
  const std::vector<EnvCase> cases{
      {"no variables: direct", "ws://echo.example/", {}, "", ""},
      {"ws:// uses http_proxy",
       "ws://echo.example/",
       {{"http_proxy", "http://h:1"}},
       "h",
       "http_proxy"},
      {"wss:// does not use http_proxy",
       "wss://echo.example/",
       {{"http_proxy", "http://h:1"}},
       "",
       ""},
      {"wss:// uses https_proxy",
       "wss://echo.example/",
       {{"http_proxy", "http://h:1"}, {"https_proxy", "http://s:1"}},
       "s",
       "https_proxy"},
      {"ws:// does not use https_proxy",
       "ws://echo.example/",
       {{"https_proxy", "http://s:1"}},
       "",
       ""},
      {"ws:// falls back to all_proxy",
       "ws://echo.example/",
       {{"all_proxy", "socks5h://a:1"}},
       "a",
       "all_proxy"},
      {"wss:// falls back to all_proxy",
       "wss://echo.example/",
       {{"all_proxy", "socks5h://a:1"}},
       "a",
       "all_proxy"},
      {"the scheme's variable before all_proxy",
       "ws://echo.example/",
       {{"all_proxy", "http://a:1"}, {"http_proxy", "http://h:1"}},
       "h",
       "http_proxy"},
      {"lower case first",
       "ws://echo.example/",
       {{"http_proxy", "http://lower:1"}, {"HTTP_PROXY", "http://upper:1"}},
       "lower",
       "http_proxy"},
      {"then upper case",
       "ws://echo.example/",
       {{"HTTP_PROXY", "http://upper:1"}},
       "upper",
       "HTTP_PROXY"},
      {"upper case HTTPS_PROXY",
       "wss://echo.example/",
       {{"HTTPS_PROXY", "http://upper:1"}},
       "upper",
       "HTTPS_PROXY"},
      {"upper case of the scheme's variable before all_proxy",
       "wss://echo.example/",
       {{"all_proxy", "http://a:1"}, {"HTTPS_PROXY", "http://upper:1"}},
       "upper",
       "HTTPS_PROXY"},
      {"ALL_PROXY", "ws://echo.example/", {{"ALL_PROXY", "http://a:1"}}, "a", "ALL_PROXY"},
      {"all_proxy before ALL_PROXY",
       "ws://echo.example/",
       {{"ALL_PROXY", "http://upper:1"}, {"all_proxy", "http://lower:1"}},
       "lower",
       "all_proxy"},
      {"an empty value counts as unset",
       "ws://echo.example/",
       {{"http_proxy", ""}, {"HTTP_PROXY", "http://upper:1"}},
       "upper",
       "HTTP_PROXY"},
      {"a blank value counts as unset", "ws://echo.example/", {{"http_proxy", "  "}}, "", ""},
      {"blanks around the value are ignored",
       "ws://echo.example/",
       {{"http_proxy", " http://h:1 "}},
       "h",
       "http_proxy"},
      // no_proxy forms.
      {"no_proxy names the host",
       "ws://echo.example/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "echo.example"}},
       "",
       "no_proxy"},
      {"no_proxy name matches subdomains",
       "ws://a.echo.example/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "echo.example"}},
       "",
       "no_proxy"},
      {"no_proxy .name matches subdomains",
       "ws://a.b.echo.example/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", ".echo.example"}},
       "",
       "no_proxy"},
      {"no_proxy .name matches the name itself",
       "ws://echo.example/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", ".echo.example"}},
       "",
       "no_proxy"},
      {"no_proxy *.name like .name",
       "ws://a.echo.example/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "*.echo.example"}},
       "",
       "no_proxy"},
      {"a suffix only at a dot",
       "ws://badecho.example/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "echo.example"}},
       "h",
       "http_proxy"},
      {"a parent is not matched by a subdomain entry",
       "ws://example/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "echo.example"}},
       "h",
       "http_proxy"},
      {"no_proxy * matches every host",
       "wss://anything.example/",
       {{"https_proxy", "http://s:1"}, {"no_proxy", "*"}},
       "",
       "no_proxy"},
      {"no_proxy list with blanks and empty entries",
       "ws://c.example/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", " a.example , ,b.example,  c.example "}},
       "",
       "no_proxy"},
      {"no_proxy case-insensitive",
       "ws://Echo.Example/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "ECHO.example"}},
       "",
       "no_proxy"},
      {"no_proxy trailing dot ignored",
       "ws://echo.example/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "echo.example."}},
       "",
       "no_proxy"},
      {"no_proxy port ignored (entry)",
       "ws://echo.example:9001/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "echo.example:8080"}},
       "",
       "no_proxy"},
      {"no_proxy port ignored (URL)",
       "ws://echo.example:9001/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "echo.example"}},
       "",
       "no_proxy"},
      {"no_proxy IPv4",
       "ws://10.1.2.3:9001/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "10.1.2.3"}},
       "",
       "no_proxy"},
      {"no_proxy IPv4 with a port",
       "ws://10.1.2.3/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "10.1.2.3:80"}},
       "",
       "no_proxy"},
      {"no_proxy other IPv4",
       "ws://10.1.2.4/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "10.1.2.3"}},
       "h",
       "http_proxy"},
      {"no_proxy IPv4 is no suffix",
       "ws://110.1.2.3/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "10.1.2.3"}},
       "h",
       "http_proxy"},
      {"no_proxy IPv6",
       "ws://[::1]:9001/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "::1"}},
       "",
       "no_proxy"},
      {"no_proxy IPv6 in brackets with a port",
       "ws://[::1]:9001/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "[::1]:8080"}},
       "",
       "no_proxy"},
      {"no_proxy IPv6 compared as an address",
       "ws://[2001:db8::1]/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "2001:DB8:0:0::1"}},
       "",
       "no_proxy"},
      {"an address never matches a name",
       "ws://localhost/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "127.0.0.1,::1"}},
       "h",
       "http_proxy"},
      {"NO_PROXY upper case",
       "ws://echo.example/",
       {{"http_proxy", "http://h:1"}, {"NO_PROXY", "echo.example"}},
       "",
       "NO_PROXY"},
      {"no_proxy before NO_PROXY",
       "ws://echo.example/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "other.example"}, {"NO_PROXY", "echo.example"}},
       "h",
       "http_proxy"},
      {"no_proxy applies to all_proxy too",
       "ws://echo.example/",
       {{"all_proxy", "http://a:1"}, {"no_proxy", "echo.example"}},
       "",
       "no_proxy"},
      // Loopback is not exempt unless no_proxy says so.
      {"loopback name not exempt",
       "ws://localhost:9001/",
       {{"http_proxy", "http://h:1"}},
       "h",
       "http_proxy"},
      {"loopback IPv4 not exempt",
       "ws://127.0.0.1:9001/",
       {{"http_proxy", "http://h:1"}},
       "h",
       "http_proxy"},
      {"loopback IPv6 not exempt",
       "wss://[::1]:9001/",
       {{"https_proxy", "http://s:1"}},
       "s",
       "https_proxy"},
      {"loopback exempt when listed",
       "ws://127.0.0.1:9001/",
       {{"http_proxy", "http://h:1"}, {"no_proxy", "localhost,127.0.0.1"}},
       "",
       "no_proxy"},
  };
  for (const EnvCase& c : cases) {
    const ProxyLookup found = proxy_for(url(c.ws_url), fake(c.vars));
    EXPECT_FALSE(found.error) << c.rule;
    EXPECT_EQ(found.proxy ? std::string_view(found.proxy->host) : "", c.proxy_host) << c.rule;
    EXPECT_EQ(found.variable, c.variable) << c.rule;
  }
}

TEST(ProxyFor, TheProxyFromTheEnvironmentIsParsedWhole) {
  const ProxyLookup found =
      proxy_for(url("wss://echo.example/"), fake({{"https_proxy", "socks5://u:p@[::1]:1081"}}));
  ASSERT_TRUE(found.proxy);
  EXPECT_EQ(found.proxy->kind, ProxyKind::socks5);
  EXPECT_EQ(found.proxy->host, "::1");
  EXPECT_EQ(found.proxy->port, 1081);
  EXPECT_EQ(found.proxy->username, "u");
  EXPECT_EQ(found.proxy->password, "p");
}

// An invalid proxy URL in the environment is an error naming the variable,
// never a quiet direct connection.
TEST(ProxyFor, AnInvalidProxyUrlIsAnErrorNamingTheVariable) {
  const ProxyLookup bad =
      proxy_for(url("ws://echo.example/"), fake({{"HTTP_PROXY", "http://proxy:99999"}}));
  EXPECT_EQ(bad.error, errc::invalid_proxy_url);
  EXPECT_FALSE(bad.proxy);
  EXPECT_EQ(bad.variable, "HTTP_PROXY");
  const ProxyLookup unsupported =
      proxy_for(url("wss://echo.example/"), fake({{"all_proxy", "https://proxy:443"}}));
  EXPECT_EQ(unsupported.error, errc::unsupported_proxy_scheme);
  EXPECT_EQ(unsupported.variable, "all_proxy");
  // A valid lower-case value wins before an invalid upper-case one is read.
  const ProxyLookup shadowed = proxy_for(
      url("ws://echo.example/"), fake({{"http_proxy", "http://h:1"}, {"HTTP_PROXY", "bad url"}}));
  EXPECT_FALSE(shadowed.error);
  // Exempt by no_proxy: the proxy is not used, so its value does not matter.
  const ProxyLookup exempt =
      proxy_for(url("ws://echo.example/"), fake({{"http_proxy", "bad url"}, {"no_proxy", "*"}}));
  EXPECT_FALSE(exempt.error);
  EXPECT_FALSE(exempt.proxy);
}

TEST(NoProxyMatches, EntriesThatAreNotHostsMatchNothing) {
  for (const std::string_view list : {"", ",", ".", "*.", "[::1", ":80", "**"}) {
    EXPECT_FALSE(no_proxy_matches(list, "echo.example")) << list;
  }
}

TEST(ProxyFor, TheProcessEnvironmentIsReadThroughGetenv) {
  const Environment env = process_environment();
  EXPECT_FALSE(env("WS_PROXY_TEST_SURELY_UNSET_VARIABLE").has_value());
  EXPECT_TRUE(env("PATH").has_value());
}

}  // namespace
}  // namespace ws::proxy
