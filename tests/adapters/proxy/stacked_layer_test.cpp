// stack_layers(): an upper layer (TLS's shape: its own handshake, records,
// an end marker, an alert) over the proxy tunnel, as wss:// through a proxy
// is TLS over the tunnel. The upper's first bytes wait for the tunnel.
#include "ws/proxy/stacked_layer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "proxy_test_support.hpp"
#include "ws/proxy/error.hpp"

namespace ws::proxy {
namespace {

using test::give;
using test::make_tunnel;
using test::read_all;
using test::settings;
using test::take_wire;

// Records of [length 1..254][bytes]; 0 ends the stream (close_notify), 255
// is an alert. The client sends the record "HI" at construction, as a TLS
// client writes its ClientHello; its handshake is done once the server's
// "HI" arrived. Input is bounded (kInputLimit), output gathered in a string.
class RecordLayer final : public StreamLayer {
 public:
  static constexpr std::size_t kInputLimit = 300;

  RecordLayer() { append_record("HI"); }

  MutableByteView wire_buffer() override {
    scratch_.resize(kInputLimit);
    return {scratch_.data(), wire_room()};
  }
  void commit_wire(std::size_t n) override { in_.append(as_text({scratch_.data(), n})); }
  std::size_t receive_wire(ByteView bytes) override {
    const std::size_t n = std::min(bytes.size(), wire_room());
    in_.append(as_text(bytes.first(n)));
    return n;
  }
  std::size_t wire_room() const noexcept override {
    return wire_eof_ || in_.size() >= kInputLimit ? 0 : kInputLimit - in_.size();
  }
  void receive_wire_eof() override { wire_eof_ = true; }

  std::size_t read(MutableByteView into) override {
    decode();
    const std::size_t n = std::min(into.size(), decoded_.size());
    if (n > 0) std::memcpy(into.data(), decoded_.data(), n);
    decoded_.erase(0, n);
    return n;
  }
  bool read_ended() const noexcept override {
    return (end_received_ || (wire_eof_ && in_.empty() && handshake_done_)) && decoded_.empty();
  }

  std::size_t write(std::span<const OutputBuffer> buffers) override {
    if (!handshake_done_ || shutdown_) return 0;
    std::size_t taken = 0;
    for (const OutputBuffer& buffer : buffers) {
      std::string_view text = as_text({buffer.data, buffer.size});
      while (!text.empty()) {
        append_record(text.substr(0, 254));
        taken += std::min<std::size_t>(text.size(), 254);
        text.remove_prefix(std::min<std::size_t>(text.size(), 254));
      }
    }
    return taken;
  }
  void shutdown() override {
    if (shutdown_) return;
    shutdown_ = true;
    out_.push_back('\0');
  }
  bool shutdown_started() const noexcept override { return shutdown_; }

  std::span<const OutputBuffer> pending_wire() override {
    view_ = {as_bytes(out_).data(), out_.size()};
    return out_.empty() ? std::span<const OutputBuffer>()
                        : std::span<const OutputBuffer>(&view_, 1);
  }
  std::size_t pending_wire_size() const noexcept override { return out_.size(); }
  void consume_wire(std::size_t n) override { out_.erase(0, n); }
  void mark_wire_in_flight(std::size_t) override {}

  std::error_code error() const noexcept override { return error_; }
  bool handshake_done() const noexcept override { return handshake_done_; }
  std::string_view selected_protocol() const noexcept override { return "upper/1"; }

  /// A record as the server would send it.
  static std::string record(std::string_view text) {
    return std::string(1, static_cast<char>(text.size())) + std::string(text);
  }

 private:
  void append_record(std::string_view text) { out_ += record(text); }
  void decode() {
    while (!in_.empty() && !error_ && !end_received_) {
      const auto length = static_cast<unsigned char>(in_[0]);
      if (length == 255) {
        error_ = std::make_error_code(std::errc::protocol_error);
        return;
      }
      if (length == 0) {
        end_received_ = true;
        in_.erase(0, 1);
        return;
      }
      if (in_.size() < 1U + length) return;
      const std::string text = in_.substr(1, length);
      in_.erase(0, 1U + length);
      if (!handshake_done_) {
        if (text != "HI") error_ = std::make_error_code(std::errc::protocol_error);
        handshake_done_ = text == "HI";
        continue;
      }
      decoded_ += text;
    }
    if (wire_eof_ && !in_.empty() && in_.size() < 1U + static_cast<unsigned char>(in_[0]) &&
        !error_) {
      error_ = std::make_error_code(std::errc::connection_aborted);  // a cut record
    }
  }

  std::vector<std::byte> scratch_;
  std::string in_;
  std::string decoded_;
  std::string out_;
  OutputBuffer view_{};
  std::error_code error_;
  bool handshake_done_ = false;
  bool wire_eof_ = false;
  bool end_received_ = false;
  bool shutdown_ = false;
};

constexpr std::string_view kConnect =
    "CONNECT echo.example:443 HTTP/1.1\r\nHost: echo.example:443\r\n\r\n";
constexpr std::string_view kEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";

struct Stack {
  std::unique_ptr<StreamLayer> layer;
  RecordLayer* upper = nullptr;
};

Stack make_stack(const ProxySettings& proxy = settings(ProxyKind::http)) {
  auto upper = std::make_unique<RecordLayer>();
  Stack stack;
  stack.upper = upper.get();
  stack.layer = stack_layers(make_tunnel(proxy, "echo.example", 443), std::move(upper));
  return stack;
}

// Issue 20 (wss:// through a proxy): the upper's first bytes (a ClientHello)
// must not reach the proxy before the tunnel is up; only the CONNECT goes.
TEST(StackedLayer, TheUpperLayersFirstBytesWaitForTheTunnel) {
  Stack stack = make_stack();
  EXPECT_EQ(stack.layer->pending_wire_size(), kConnect.size());
  EXPECT_EQ(take_wire(*stack.layer), kConnect);
  EXPECT_EQ(stack.layer->pending_wire_size(), 0U);
  EXPECT_TRUE(stack.layer->pending_wire().empty());
  std::size_t taken = 1;
  (void)test::write_text(*stack.layer, "app", &taken);
  EXPECT_EQ(taken, 0U);
  EXPECT_EQ(take_wire(*stack.layer), "");
  // The tunnel is up: now the upper's handshake goes, through it.
  EXPECT_EQ(give(*stack.layer, kEstablished), "");
  EXPECT_EQ(stack.layer->pending_wire_size(), 3U);
  EXPECT_EQ(take_wire(*stack.layer), RecordLayer::record("HI"));
  EXPECT_FALSE(stack.layer->handshake_done());
  EXPECT_EQ(give(*stack.layer, RecordLayer::record("HI")), "");
  EXPECT_TRUE(stack.layer->handshake_done());
  EXPECT_EQ(stack.layer->selected_protocol(), "upper/1");
}

// The proxy's answer and the server's first bytes in one segment: both
// handshakes complete in one read, and the data behind them arrives.
TEST(StackedLayer, ProxyAnswerAndServerBytesInOneSegment) {
  Stack stack = make_stack();
  (void)take_wire(*stack.layer);
  const std::string segment = std::string(kEstablished) + RecordLayer::record("HI") +
                              RecordLayer::record("hello ") + RecordLayer::record("world");
  EXPECT_EQ(give(*stack.layer, segment), "hello world");
  EXPECT_TRUE(stack.layer->handshake_done());
  EXPECT_EQ(take_wire(*stack.layer), RecordLayer::record("HI"));
}

TEST(StackedLayer, DataFlowsBothWaysAfterBothHandshakes) {
  Stack stack = make_stack();
  (void)take_wire(*stack.layer);
  (void)give(*stack.layer, std::string(kEstablished) + RecordLayer::record("HI"));
  (void)take_wire(*stack.layer);
  std::size_t taken = 0;
  (void)test::write_text(*stack.layer, "ping", &taken);
  EXPECT_EQ(taken, 4U);
  EXPECT_EQ(take_wire(*stack.layer), RecordLayer::record("ping"));
  // More than the upper's input bound at once, split byte by byte too.
  std::string many;
  for (char c = 'a'; c < 'k'; ++c) many += RecordLayer::record(std::string(200, c));
  std::string expected;
  for (char c = 'a'; c < 'k'; ++c) expected += std::string(200, c);
  EXPECT_EQ(give(*stack.layer, many), expected);
  EXPECT_EQ(test::give_bytewise(*stack.layer, RecordLayer::record("xyz")), "xyz");
}

// errors of the lower surface through error(), with what the proxy said.
TEST(StackedLayer, ATunnelRefusalIsTheStacksError) {
  Stack stack = make_stack();
  (void)take_wire(*stack.layer);
  (void)give(*stack.layer, "HTTP/1.0 407 Proxy Authentication Required\r\n\r\n");
  EXPECT_EQ(stack.layer->error(), errc::authentication_required);
  ASSERT_NE(refusal(*stack.layer), nullptr);
  EXPECT_EQ(refusal(*stack.layer)->status, 407);
  // The upper's bytes never went.
  EXPECT_EQ(stack.layer->pending_wire_size(), 0U);
  EXPECT_FALSE(stack.layer->handshake_done());
}

TEST(StackedLayer, AnUpperErrorIsTheStacksError) {
  Stack stack = make_stack();
  (void)take_wire(*stack.layer);
  (void)give(*stack.layer, std::string(kEstablished) + "\xFF");
  EXPECT_EQ(stack.layer->error(), std::errc::protocol_error);
  EXPECT_EQ(refusal(*stack.layer), nullptr);
}

// The end of the wire during the tunnel's handshake is the tunnel's error.
TEST(StackedLayer, EndOfStreamBeforeTheTunnelIsTheTunnelsError) {
  Stack stack = make_stack();
  (void)take_wire(*stack.layer);
  (void)give(*stack.layer, "HTTP/1.1 2");
  stack.layer->receive_wire_eof();
  (void)read_all(*stack.layer);
  EXPECT_EQ(stack.layer->error(), errc::eof_in_handshake);
}

// The end of the wire reaches the upper only after every byte the tunnel
// held went up to it, and the stack's stream ends after the upper's.
TEST(StackedLayer, EndOfStreamReachesTheUpperAfterItsBytes) {
  Stack stack = make_stack();
  (void)take_wire(*stack.layer);
  (void)give(*stack.layer, std::string(kEstablished) + RecordLayer::record("HI"));
  // More than the upper takes at once, then the end.
  std::string many;
  for (int i = 0; i < 5; ++i) many += RecordLayer::record(std::string(250, 'q'));
  EXPECT_EQ(stack.layer->receive_wire(as_bytes(many)), many.size());
  stack.layer->receive_wire_eof();
  EXPECT_FALSE(stack.layer->read_ended());
  EXPECT_EQ(read_all(*stack.layer), std::string(1250, 'q'));
  EXPECT_TRUE(stack.layer->read_ended());
  EXPECT_FALSE(stack.layer->error());
}

TEST(StackedLayer, TheUppersEndMarkerEndsTheStreamBeforeTheWireDoes) {
  Stack stack = make_stack();
  (void)take_wire(*stack.layer);
  EXPECT_EQ(give(*stack.layer, std::string(kEstablished) + RecordLayer::record("HI") +
                                   RecordLayer::record("bye") + std::string(1, '\0')),
            "bye");
  EXPECT_TRUE(stack.layer->read_ended());
}

// shutdown(): the upper's end marker (close_notify) goes through the tunnel,
// then the tunnel is shut down; nothing is taken afterwards.
TEST(StackedLayer, ShutdownSendsTheUppersEndThroughTheTunnel) {
  Stack stack = make_stack();
  (void)take_wire(*stack.layer);
  (void)give(*stack.layer, std::string(kEstablished) + RecordLayer::record("HI"));
  (void)take_wire(*stack.layer);
  std::size_t taken = 0;
  (void)test::write_text(*stack.layer, "last", &taken);
  stack.layer->shutdown();
  EXPECT_TRUE(stack.layer->shutdown_started());
  EXPECT_TRUE(stack.upper->shutdown_started());
  const auto& stacked = dynamic_cast<const StackedLayer&>(*stack.layer);
  EXPECT_TRUE(stacked.lower().shutdown_started());
  EXPECT_EQ(take_wire(*stack.layer), RecordLayer::record("last") + std::string(1, '\0'));
  (void)test::write_text(*stack.layer, "late", &taken);
  EXPECT_EQ(taken, 0U);
  EXPECT_EQ(stack.layer->pending_wire_size(), 0U);
}

// The upper's bytes that do not fit the tunnel's bounded output wait in
// the upper, count in pending_wire_size() (a transport must not close
// before they went), and go as the transport writes.
TEST(StackedLayer, OutputBeyondTheTunnelsBoundWaitsAndCounts) {
  Stack stack = make_stack();
  (void)take_wire(*stack.layer);
  (void)give(*stack.layer, std::string(kEstablished) + RecordLayer::record("HI"));
  (void)take_wire(*stack.layer);
  const std::string big(tunnel_output_limit + 10000, 'w');
  std::size_t taken = 0;
  (void)test::write_text(*stack.layer, big, &taken);
  EXPECT_EQ(taken, big.size());  // the test upper buffers without bound
  const std::size_t wire_size = big.size() + (big.size() + 253) / 254;
  EXPECT_EQ(stack.layer->pending_wire_size(), wire_size);
  stack.layer->shutdown();
  std::string written;
  while (stack.layer->pending_wire_size() > 0) {
    const auto pending = stack.layer->pending_wire();
    ASSERT_FALSE(pending.empty());
    std::size_t n = 0;
    for (const OutputBuffer& buffer : pending) n += buffer.size;
    ASSERT_LE(n, tunnel_output_limit);
    written += take_wire(*stack.layer);
  }
  EXPECT_EQ(written.size(), wire_size + 1);
  EXPECT_EQ(written.back(), '\0');
}

// In-flight marks are the tunnel's: its bytes stay in place until consumed.
TEST(StackedLayer, InFlightMarksReachTheTunnel) {
  Stack stack = make_stack();
  const auto pending = stack.layer->pending_wire();
  ASSERT_EQ(pending.size(), 1U);
  const std::byte* first = pending[0].data;
  stack.layer->mark_wire_in_flight(pending[0].size);
  (void)give(*stack.layer, kEstablished);  // the upper's "HI" is appended
  EXPECT_EQ(as_text({first, kConnect.size()}), kConnect);
  EXPECT_EQ(take_wire(*stack.layer), std::string(kConnect) + RecordLayer::record("HI"));
}

// Over SOCKS5 the same: the upper waits for the CONNECT reply.
TEST(StackedLayer, OverSocks5TheUpperWaitsForTheReply) {
  Stack stack = make_stack(settings(ProxyKind::socks5h));
  EXPECT_EQ(take_wire(*stack.layer), test::bytes({5, 1, 0}));
  (void)give(*stack.layer, test::bytes({5, 0}));
  EXPECT_EQ(take_wire(*stack.layer).substr(0, 4), test::bytes({5, 1, 0, 3}));
  EXPECT_EQ(give(*stack.layer, test::bytes({5, 0, 0, 1, 1, 2, 3, 4, 0, 80}) +
                                   RecordLayer::record("HI") + RecordLayer::record("data")),
            "data");
  EXPECT_EQ(take_wire(*stack.layer), RecordLayer::record("HI"));
  EXPECT_TRUE(stack.layer->handshake_done());
}

}  // namespace
}  // namespace ws::proxy
