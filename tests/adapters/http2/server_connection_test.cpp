// ws::http2's server side against nghttp2's own client, in memory: the
// protocol choice (h2c preface or HTTP/1.1), RFC 8441's extended CONNECT
// becoming a WebSocket with a Driver of its own, plain requests reaching
// on_http, refusals that spare the connection's other streams, resets as an
// abnormal close of one WebSocket, flow control as each WebSocket's
// backpressure, timeouts and going away.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "h2_test_client.hpp"
#include "support/frames.hpp"
#include "ws/driver/driver.hpp"
#include "ws/http2/server.hpp"

namespace ws {
namespace {

using namespace std::chrono_literals;
using test::Bytes;
using test::client_frame;
using test::H2TestClient;

class NoWake final : public Waker {
 public:
  void wake() noexcept override {}
};

struct Recorder {
  std::vector<UpgradeRequest> upgrades;
  std::vector<std::string> opened_paths;
  std::vector<std::pair<std::uint16_t, std::error_code>> closes;
  std::vector<std::string> http_targets;
};

class Http2Server : public ::testing::Test {
 protected:
  void SetUp() override { make(); }

  void make(http2::ServerSettings settings = {}) {
    auto handler = std::make_shared<Handler>();
    Recorder* seen = &seen_;
    handler->on_upgrade = [seen](const UpgradeRequest& request) {
      seen->upgrades.push_back(request);
      if (request.path == "/refused") return UpgradeDecision::reject(403, "not here\n");
      AcceptOptions options;
      options.subprotocols = {"chat"};
      return UpgradeDecision::accept_with(options);
    };
    handler->on_open = [seen](const SessionPtr& session) {
      seen->opened_paths.push_back(session->request() ? session->request()->path : "?");
    };
    handler->on_message = [](const SessionPtr& session, const Message& message) {
      if (message.kind == MessageKind::text) {
        (void)session->send_text(message.text());
      } else {
        (void)session->send_binary(message.payload);
      }
    };
    handler->on_close = [seen](const SessionPtr&, const Closed& closed) {
      seen->closes.emplace_back(static_cast<std::uint16_t>(closed.code), closed.error);
    };
    handler->on_http = [seen](const HttpHead& head) {
      seen->http_targets.emplace_back(head.target);
      std::string host(find_header(head, "host").value_or("<none>"));
      return HttpAnswer{200, "page for " + host + "\n", {{"Content-Type", "text/plain"}}};
    };
    Config config = server_config();
    config.serve_plain_http = true;
    options_ = std::make_shared<DriverOptions>();
    SocketDriverContext context{std::make_shared<const Config>(config), handler, options_,
                                std::make_shared<NoWake>()};
    Result<std::unique_ptr<SocketDriver>> made =
        http2::server_protocols(std::move(settings))->make(std::move(context));
    ASSERT_TRUE(made);
    server_ = std::move(*made);
    (void)server_->step(now_);
  }

  void exchange() { client_.exchange(*server_, now_); }

  std::string text(const test::ParsedFrame& frame) { return test::text_of(frame.payload); }

  TimePoint now_ = TimePoint(std::chrono::hours(1));
  Recorder seen_;
  std::shared_ptr<DriverOptions> options_;
  std::unique_ptr<SocketDriver> server_;
  H2TestClient client_;
};

// RFC 8441 3: the server says it takes extended CONNECT.
TEST_F(Http2Server, AnnouncesEnableConnectProtocol) {
  exchange();
  EXPECT_EQ(client_.server_setting(NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL), 1u);
  EXPECT_EQ(client_.server_setting(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS), 100u);
}

// RFC 8441 4-5: an extended CONNECT becomes a WebSocket; the handler sees
// the same UpgradeRequest with the carriage that tells; the answer is 200
// with no Sec-WebSocket-Accept; frames flow as DATA.
TEST_F(Http2Server, ExtendedConnectOpensAWebSocketThatEchoes) {
  const std::int32_t id =
      client_.connect_websocket("/chat?room=1", {{"sec-websocket-protocol", "other, chat"}});
  exchange();
  ASSERT_EQ(seen_.upgrades.size(), 1u);
  EXPECT_EQ(seen_.upgrades[0].carriage, HandshakeCarriage::http2_extended_connect);
  EXPECT_EQ(seen_.upgrades[0].path, "/chat");
  EXPECT_EQ(seen_.upgrades[0].host, "server.example");
  EXPECT_EQ(client_.stream(id).status(), 200);
  EXPECT_EQ(client_.stream(id).header("sec-websocket-accept"), "<none>");
  EXPECT_EQ(client_.stream(id).header("sec-websocket-protocol"), "chat");
  ASSERT_EQ(seen_.opened_paths, std::vector<std::string>{"/chat"});

  client_.send(id, client_frame(Opcode::text, "hello over a stream"));
  exchange();
  std::vector<test::ParsedFrame> frames = client_.stream(id).frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(text(frames[0]), "hello over a stream");
  EXPECT_FALSE(client_.stream(id).ended);
}

// Many WebSockets share the connection, each with its own Driver.
TEST_F(Http2Server, ManyWebSocketsOnOneConnectionKeepTheirOwnMessages) {
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(client_.connect_websocket("/s" + std::to_string(i)));
  exchange();
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      client_.send(ids[i], client_frame(Opcode::text,
                                        "m" + std::to_string(round) + "-" + std::to_string(i)));
    }
    exchange();
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::vector<test::ParsedFrame> frames = client_.stream(ids[i]).frames();
    ASSERT_EQ(frames.size(), 3u) << "stream " << ids[i];
    for (int round = 0; round < 3; ++round) {
      EXPECT_EQ(text(frames[static_cast<std::size_t>(round)]),
                "m" + std::to_string(round) + "-" + std::to_string(i));
    }
  }
}

// A WebSocket close ends its stream (RFC 8441 5: the close handshake, then
// END_STREAM); on_close reports a clean 1000.
TEST_F(Http2Server, CloseHandshakeEndsTheStream) {
  const std::int32_t id = client_.connect_websocket();
  exchange();
  client_.send(id, client_frame(Opcode::close, test::text_of(test::close_payload(1000, "bye"))),
               true);
  exchange();
  std::vector<test::ParsedFrame> frames = client_.stream(id).frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header.opcode, Opcode::close);
  EXPECT_TRUE(client_.stream(id).ended);
  ASSERT_EQ(seen_.closes.size(), 1u);
  EXPECT_EQ(seen_.closes[0].first, 1000);
  EXPECT_FALSE(seen_.closes[0].second);
  EXPECT_FALSE(server_->should_close_transport());  // the connection stays
}

// RFC 8441 (the stream is the WebSocket's transport): a reset is an abnormal
// close, 1006, of that WebSocket only.
TEST_F(Http2Server, AResetIsAnAbnormalCloseOfThatWebSocketOnly) {
  const std::int32_t doomed = client_.connect_websocket("/doomed");
  const std::int32_t other = client_.connect_websocket("/other");
  exchange();
  client_.reset(doomed);
  exchange();
  ASSERT_EQ(seen_.closes.size(), 1u);
  EXPECT_EQ(seen_.closes[0].first, 1006);
  EXPECT_TRUE(seen_.closes[0].second);  // as for a TCP reset over HTTP/1.1
  client_.send(other, client_frame(Opcode::text, "still here"));
  exchange();
  ASSERT_EQ(client_.stream(other).frames().size(), 1u);
  EXPECT_EQ(text(client_.stream(other).frames()[0]), "still here");
}

// Requests that are not CONNECT reach the application's HTTP handler, with
// :authority as Host (the demo page over HTTP/2).
TEST_F(Http2Server, PlainRequestsReachOnHttp) {
  const std::int32_t id = client_.request({{":method", "GET"},
                                           {":scheme", "http"},
                                           {":path", "/index.html"},
                                           {":authority", "server.example"}},
                                          true);
  exchange();
  EXPECT_EQ(client_.stream(id).status(), 200);
  EXPECT_EQ(client_.stream(id).header("content-type"), "text/plain");
  EXPECT_EQ(client_.stream(id).data, "page for server.example\n");
  EXPECT_TRUE(client_.stream(id).ended);
  EXPECT_EQ(seen_.http_targets, std::vector<std::string>{"/index.html"});
}

// CONNECT without :protocol, an unknown :protocol, or a missing version is
// refused on its own stream; the WebSocket beside it goes on.
TEST_F(Http2Server, RefusedConnectsSpareTheOtherStreams) {
  const std::int32_t ws = client_.connect_websocket("/kept");
  const std::int32_t tunnel =
      client_.request({{":method", "CONNECT"}, {":authority", "elsewhere.example:443"}}, false);
  const std::int32_t unknown = client_.request({{":method", "CONNECT"},
                                                {":protocol", "not-websocket"},
                                                {":scheme", "http"},
                                                {":path", "/x"},
                                                {":authority", "server.example"},
                                                {"sec-websocket-version", "13"}},
                                               false);
  const std::int32_t no_version = client_.request({{":method", "CONNECT"},
                                                   {":protocol", "websocket"},
                                                   {":scheme", "http"},
                                                   {":path", "/x"},
                                                   {":authority", "server.example"}},
                                                  false);
  const std::int32_t refused_by_app = client_.connect_websocket("/refused");
  exchange();
  EXPECT_EQ(client_.stream(tunnel).status(), 400);
  EXPECT_EQ(client_.stream(unknown).status(), 400);
  EXPECT_EQ(client_.stream(no_version).status(), 426);
  EXPECT_EQ(client_.stream(no_version).header("sec-websocket-version"), "13");
  EXPECT_EQ(client_.stream(refused_by_app).status(), 403);
  EXPECT_EQ(client_.stream(refused_by_app).data, "not here\n");
  for (std::int32_t id : {tunnel, unknown, no_version, refused_by_app}) {
    EXPECT_TRUE(client_.stream(id).ended) << id;
  }
  client_.send(ws, client_frame(Opcode::text, "after the refusals"));
  exchange();
  ASSERT_EQ(client_.stream(ws).frames().size(), 1u);
  EXPECT_EQ(client_.stream(ws).status(), 200);
  EXPECT_FALSE(server_->should_close_transport());
}

// HTTP/2 flow control is the WebSocket's backpressure: a client that stops
// reading one stream stops that stream only.
TEST_F(Http2Server, AStalledReaderHoldsBackOnlyItsOwnStream) {
  H2TestClient client(false);  // reopens windows only when told
  const std::int32_t slow = client.connect_websocket("/slow");
  const std::int32_t fast = client.connect_websocket("/fast");
  client.exchange(*server_, now_);
  const std::string chunk(16 * 1024, 'x');
  // The initial stream window of the client (64 KiB) fills with echoes.
  for (int i = 0; i < 8; ++i) client.send(slow, client_frame(Opcode::binary, chunk));
  client.exchange(*server_, now_);
  const std::size_t slow_got = client.stream(slow).data.size();
  EXPECT_LE(slow_got, 65535u);
  for (int i = 0; i < 20; ++i) {
    client.send(fast, client_frame(Opcode::text, "fast " + std::to_string(i)));
    client.exchange(*server_, now_);
    client.consume(fast, client.stream(fast).data.size());  // this one reads
  }
  EXPECT_EQ(client.stream(fast).frames().size(), 20u);
  EXPECT_EQ(client.stream(slow).data.size(), slow_got);  // still held back
  // Reading resumes: every echo arrives.
  const std::size_t all = 8 * (chunk.size() + 4);  // 4: a 16-bit length header
  for (int i = 0; i < 16 && client.stream(slow).data.size() < all; ++i) {
    client.consume(slow, 65535);
    client.exchange(*server_, now_);
  }
  EXPECT_EQ(client.stream(slow).frames().size(), 8u);
}

// The other direction: a WebSocket whose output backs up stops reading
// (the driver's backpressure), so its stream window is not reopened and
// the peer must stop sending on it, while a neighbour still sends.
TEST_F(Http2Server, AWebSocketThatStopsReadingClosesItsOwnWindowOnly) {
  options_->backpressure.high_water = 64 * 1024;
  options_->backpressure.low_water = 16 * 1024;
  H2TestClient client(false);
  const std::int32_t slow = client.connect_websocket("/slow");
  const std::int32_t fast = client.connect_websocket("/fast");
  client.exchange(*server_, now_);
  const std::string chunk(16 * 1024, 'y');
  // 1 MiB to echo on a stream whose echoes are never read.
  for (int i = 0; i < 64; ++i) client.send(slow, client_frame(Opcode::binary, chunk));
  client.exchange(*server_, now_, 256);
  EXPECT_EQ(nghttp2_session_get_stream_remote_window_size(client.session(), slow), 0);
  EXPECT_GT(nghttp2_session_get_remote_window_size(client.session()), 0);
  client.send(fast, client_frame(Opcode::text, "neighbour"));
  client.exchange(*server_, now_);
  client.consume(fast, client.stream(fast).data.size());
  ASSERT_EQ(client.stream(fast).frames().size(), 1u);
  EXPECT_EQ(text(client.stream(fast).frames()[0]), "neighbour");
}

// One port, both protocols: bytes that are not the HTTP/2 preface are
// HTTP/1.1, served exactly as without HTTP/2.
TEST_F(Http2Server, Http11OnTheSamePort) {
  const std::string request =
      "GET /chat HTTP/1.1\r\nHost: server.example\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n";
  (void)server_->receive(
      ByteView(reinterpret_cast<const std::byte*>(request.data()), request.size()));
  (void)server_->step(now_);
  std::string answer;
  for (const OutputBuffer& piece : server_->pending_output()) {
    answer.append(reinterpret_cast<const char*>(piece.data), piece.size);
  }
  EXPECT_EQ(answer.rfind("HTTP/1.1 101", 0), 0u) << answer;
  EXPECT_NE(answer.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos);
  ASSERT_EQ(seen_.upgrades.size(), 1u);
  EXPECT_EQ(seen_.upgrades[0].carriage, HandshakeCarriage::http1_upgrade);
}

// A peer that sends part of the preface and stops is dropped at the
// handshake timeout, as over HTTP/1.1.
TEST_F(Http2Server, AStalledPrefaceEndsAtTheHandshakeTimeout) {
  const std::string half = "PRI * HTTP/2.0\r\n";
  (void)server_->receive(ByteView(reinterpret_cast<const std::byte*>(half.data()), half.size()));
  (void)server_->step(now_);
  EXPECT_FALSE(server_->should_close_transport());
  ASSERT_TRUE(server_->next_deadline());
  EXPECT_LE(*server_->next_deadline(), now_ + 10s);
  (void)server_->step(now_ + 10s);
  EXPECT_TRUE(server_->should_close_transport());
}

// Graceful shutdown: GOAWAY, every WebSocket closes with 1001, then the
// connection ends.
TEST_F(Http2Server, GoingAwayClosesEveryWebSocketThenTheConnection) {
  const std::int32_t a = client_.connect_websocket("/a");
  const std::int32_t b = client_.connect_websocket("/b");
  exchange();
  server_->close_going_away();
  exchange();
  EXPECT_TRUE(client_.goaway_seen());
  for (std::int32_t id : {a, b}) {
    std::vector<test::ParsedFrame> frames = client_.stream(id).frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].header.opcode, Opcode::close);
    client_.send(id, client_frame(Opcode::close, test::text_of(test::close_payload(1001))), true);
  }
  exchange();
  ASSERT_EQ(seen_.closes.size(), 2u);
  EXPECT_EQ(seen_.closes[0].first, 1001);
  EXPECT_TRUE(server_->should_close_transport());
  server_->transport_closed();
  EXPECT_EQ(seen_.closes.size(), 2u);  // nothing reported twice
}

// The socket lost: every open WebSocket ends with 1006, each reported once.
TEST_F(Http2Server, LosingTheSocketClosesEveryWebSocketAbnormally) {
  client_.connect_websocket("/a");
  client_.connect_websocket("/b");
  exchange();
  server_->transport_failed(std::make_error_code(std::errc::connection_reset));
  (void)server_->step(now_);
  EXPECT_TRUE(server_->should_close_transport());
  server_->transport_closed();
  ASSERT_EQ(seen_.closes.size(), 2u);
  for (const auto& [code, error] : seen_.closes) {
    EXPECT_EQ(code, 1006);
    EXPECT_TRUE(error);
  }
}

// RFC 9113 6.5.2 and RFC 6585 5: a header block past
// SETTINGS_MAX_HEADER_LIST_SIZE is answered 431 on its stream.
TEST_F(Http2Server, AHeaderBlockPastTheLimitGets431) {
  http2::ServerSettings settings;
  settings.max_header_list_size = 1024;
  make(std::move(settings));
  const std::int32_t id = client_.connect_websocket("/big", {{"x-filler", std::string(2000, 'a')}});
  exchange();
  EXPECT_EQ(client_.stream(id).status(), 431);
  EXPECT_TRUE(seen_.upgrades.empty());
}

}  // namespace
}  // namespace ws
