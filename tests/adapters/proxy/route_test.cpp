// ws::proxy::route(): a proxy as the ws::ClientRoute every client transport
// connects through (client_path), and what a refusal tells the application
// (Closed::error the proxy's errc, Closed::reason what the proxy said).
#include "ws/proxy/route.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "proxy_test_support.hpp"
#include "ws/driver/driver.hpp"
#include "ws/proxy/error.hpp"
#include "ws/proxy/stacked_layer.hpp"

namespace ws::proxy {
namespace {

using test::give;
using test::settings;
using test::take_wire;

WsUrl url(std::string_view text) {
  Result<WsUrl> parsed = parse_ws_url(text);
  EXPECT_TRUE(parsed.has_value());
  return parsed ? *parsed : WsUrl{};
}

// Stands for TLS: a layer (here another tunnel, whose first bytes are
// recognisable) and the host it was made for (the SNI name).
class RecordingFactory final : public StreamLayerFactory {
 public:
  Result<std::unique_ptr<StreamLayer>> make(Role, std::string_view host) const override {
    hosts.emplace_back(host);
    return tunnel_layer(settings(ProxyKind::socks5), "upper.test", 1);
  }
  mutable std::vector<std::string> hosts;
};

// Without a route, the socket goes to the URL's host and port.
TEST(ProxyRoute, WithoutARouteThePathIsTheUrlAndItsOwnLayer) {
  ClientOptions options;
  Result<ClientPath> path = client_path(options, url("ws://echo.example:9001/chat"));
  ASSERT_TRUE(path.has_value()) << path.error().message();
  EXPECT_EQ(path->hop.host, "echo.example");
  EXPECT_EQ(path->hop.port, 9001);
  EXPECT_EQ(path->layer, nullptr);
}

// Issue 20: through a proxy the socket connects to the proxy, and the first
// bytes on it are the tunnel's request for the URL's host and port.
TEST(ProxyRoute, TheSocketGoesToTheProxyAndTheTunnelToTheUrl) {
  ClientOptions options;
  options.route = route(settings(ProxyKind::http, "alice", "secret"));
  Result<ClientPath> path = client_path(options, url("ws://echo.example:9001/chat"));
  ASSERT_TRUE(path.has_value()) << path.error().message();
  EXPECT_EQ(path->hop.host, "proxy.test");
  EXPECT_EQ(path->hop.port, 3128);
  ASSERT_NE(path->layer, nullptr);
  EXPECT_EQ(take_wire(*path->layer),
            "CONNECT echo.example:9001 HTTP/1.1\r\nHost: echo.example:9001\r\n"
            "Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n");
}

// wss:// through a proxy: TLS above the tunnel, made for the URL's host
// (the certificate is the server's, not the proxy's), its bytes after the
// tunnel is up.
TEST(ProxyRoute, WssStacksTheUrlsLayerAboveTheTunnel) {
  auto factory = std::make_shared<RecordingFactory>();
  ClientOptions options;
  options.stream_layer = factory;
  options.route = route(settings(ProxyKind::socks5h));
  Result<ClientPath> path = client_path(options, url("wss://echo.example/chat"));
  ASSERT_TRUE(path.has_value()) << path.error().message();
  EXPECT_EQ(factory->hosts, std::vector<std::string>{"echo.example"});
  EXPECT_EQ(path->hop.port, 1080);
  ASSERT_NE(dynamic_cast<const StackedLayer*>(path->layer.get()), nullptr);
  // Only the proxy's greeting until the proxy answered.
  EXPECT_EQ(take_wire(*path->layer), test::bytes({5, 1, 0}));
  (void)give(*path->layer, test::bytes({5, 0}));
  const std::string connect = take_wire(*path->layer);
  EXPECT_EQ(connect, test::bytes({5, 1, 0, 3, 12}) + "echo.example" + test::bytes({1, 187}));
}

// The URL's scheme decides whether its layer (TLS) is made, not the
// options: a client configured for wss:// that meets ws:// (a redirect from
// ws:// to wss:// needs the options to carry TLS from the start; the
// reverse is refused by decide_redirect) speaks plain bytes to a ws:// URL.
TEST(ProxyRoute, AWsUrlGetsNoTlsLayerEvenWhenTheOptionsCarryOne) {
  auto factory = std::make_shared<RecordingFactory>();
  ClientOptions options;
  options.stream_layer = factory;
  Result<ClientPath> path = client_path(options, url("ws://echo.example:9001/chat"));
  ASSERT_TRUE(path.has_value()) << path.error().message();
  EXPECT_EQ(path->layer, nullptr);
  EXPECT_TRUE(factory->hosts.empty());
  options.route = route(settings(ProxyKind::http));
  path = client_path(options, url("ws://echo.example:9001/chat"));
  ASSERT_TRUE(path.has_value()) << path.error().message();
  EXPECT_EQ(dynamic_cast<const StackedLayer*>(path->layer.get()), nullptr);  // the tunnel alone
  EXPECT_TRUE(factory->hosts.empty());
}

// Issue 20's environment rules, applied per URL: a client that follows a
// redirect to another host or scheme asks the environment again, so
// no_proxy and the scheme's own variable hold for the new URL too.
TEST(EnvironmentRoute, EachUrlGetsTheProxyTheEnvironmentNamesForIt) {
  const Environment env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "http_proxy") return "http://plain-proxy.test:3128";
    if (name == "https_proxy") return "socks5h://secure-proxy.test";
    if (name == "no_proxy") return "inside.example";
    return std::nullopt;
  };
  auto factory = std::make_shared<RecordingFactory>();
  ClientOptions options;
  options.stream_layer = factory;
  options.route = environment_route(env);

  Result<ClientPath> path = client_path(options, url("ws://echo.example:9001/"));
  ASSERT_TRUE(path.has_value()) << path.error().message();
  EXPECT_EQ(path->hop.host, "plain-proxy.test");
  EXPECT_EQ(path->hop.port, 3128);
  ASSERT_NE(path->layer, nullptr);
  EXPECT_EQ(take_wire(*path->layer).rfind("CONNECT echo.example:9001 HTTP/1.1\r\n", 0), 0U);

  path = client_path(options, url("wss://echo.example/"));
  ASSERT_TRUE(path.has_value()) << path.error().message();
  EXPECT_EQ(path->hop.host, "secure-proxy.test");
  EXPECT_EQ(path->hop.port, 1080);
  EXPECT_NE(dynamic_cast<const StackedLayer*>(path->layer.get()), nullptr);

  path = client_path(options, url("wss://a.inside.example:8443/"));
  ASSERT_TRUE(path.has_value()) << path.error().message();
  EXPECT_EQ(path->hop.host, "a.inside.example");  // no_proxy: direct
  EXPECT_EQ(path->hop.port, 8443);
  EXPECT_EQ(dynamic_cast<const StackedLayer*>(path->layer.get()), nullptr);
  EXPECT_EQ(factory->hosts, (std::vector<std::string>{"echo.example", "a.inside.example"}));
}

// A variable that is not a proxy URL fails the connect to the URLs it
// governs, never a quiet direct connect.
TEST(EnvironmentRoute, AVariableThatIsNotAProxyUrlFailsItsUrls) {
  const Environment env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "https_proxy") return "ftp://nope.test";
    return std::nullopt;
  };
  ClientOptions options;
  options.stream_layer = std::make_shared<RecordingFactory>();
  options.route = environment_route(env);
  Result<ClientPath> path = client_path(options, url("wss://echo.example/"));
  ASSERT_FALSE(path.has_value());
  EXPECT_EQ(path.error(), errc::unsupported_proxy_scheme);
  path = client_path(options, url("ws://echo.example/"));  // http_proxy unset: direct
  ASSERT_TRUE(path.has_value()) << path.error().message();
  EXPECT_EQ(path->hop.host, "echo.example");
  EXPECT_EQ(path->layer, nullptr);
}

TEST(ProxyRoute, WssWithoutATlsLayerIsRefusedEvenWithARoute) {
  ClientOptions options;
  options.route = route(settings(ProxyKind::http));
  Result<ClientPath> path = client_path(options, url("wss://echo.example/"));
  ASSERT_FALSE(path.has_value());
  EXPECT_EQ(path.error(), ws::errc::invalid_url);
}

// A target the proxy's protocol cannot carry fails before any connect.
TEST(ProxyRoute, ATargetTheProxyCannotCarryIsAnErrorBeforeConnecting) {
  ClientOptions options;
  options.route = route(settings(ProxyKind::socks5));
  WsUrl target;
  target.host = std::string(256, 'a');  // RFC 1928 5: a name holds 255 bytes
  target.port = 80;
  Result<ClientPath> path = client_path(options, target);
  ASSERT_FALSE(path.has_value());
  EXPECT_EQ(path.error(), errc::invalid_target);
}

// What the proxy said, in one line for people: the status line as sent, or
// the SOCKS code with its meaning. A stacked layer reports its lower's.
TEST(ProxyRoute, ARefusalsDetailIsWhatTheProxySaid) {
  auto http = test::make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  (void)take_wire(*http);
  EXPECT_EQ(http->error_detail(), "");
  (void)give(*http, "HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic\r\n\r\n");
  EXPECT_EQ(http->error(), errc::authentication_required);
  EXPECT_EQ(http->error_detail(), "HTTP/1.0 401 Unauthorized");

  auto socks = test::make_tunnel(settings(ProxyKind::socks5), "echo.example", 80);
  (void)take_wire(*socks);
  (void)give(*socks, test::bytes({5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(socks->error(), errc::socks_connection_refused);
  EXPECT_EQ(socks->error_detail(), "SOCKS5 reply 5: Connection refused");

  auto auth = test::make_tunnel(settings(ProxyKind::socks5, "u", "wrong"), "echo.example", 80);
  (void)take_wire(*auth);
  (void)give(*auth, test::bytes({5, 2, 1, 2}));
  EXPECT_EQ(auth->error(), errc::authentication_failed);
  EXPECT_EQ(auth->error_detail(),
            "SOCKS5 authentication status 2: the user name and password were refused");

  // Not a refusal: nothing to add to the error.
  auto garbage = test::make_tunnel(settings(ProxyKind::http), "echo.example", 80);
  (void)give(*garbage, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
  EXPECT_EQ(garbage->error(), errc::malformed_reply);
  EXPECT_EQ(garbage->error_detail(), "");

  auto stacked = stack_layers(test::make_tunnel(settings(ProxyKind::http), "echo.example", 443),
                              test::make_tunnel(settings(ProxyKind::socks5), "upper.test", 1));
  (void)take_wire(*stacked);
  (void)give(*stacked, "HTTP/1.1 403 Forbidden\r\n\r\n");
  EXPECT_EQ(stacked->error(), errc::http_refused);
  EXPECT_EQ(stacked->error_detail(), "HTTP/1.1 403 Forbidden");
}

}  // namespace
}  // namespace ws::proxy
