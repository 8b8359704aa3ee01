// The core's extension interface (RFC 6455 5.2, 9; RFC 7692 5, 6) with a
// test extension that needs no compression library: "x-test" claims RSV1,
// flips bit 5 of every byte, and on receive repeats every decoded byte
// `expansion` times (so a short message can be made to expand).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

#include "support/connection_pair.hpp"
#include "support/frames.hpp"
#include "support/handshake_text.hpp"
#include "ws/extension/extension.hpp"

namespace ws {
namespace {

using test::Bytes;
using test::OwnedEvent;

class FlipSession final : public ExtensionSession {
 public:
  explicit FlipSession(std::size_t expansion) : expansion_(expansion) {}
  std::uint8_t reserved_bits() const noexcept override { return rsv1; }
  CodecStep decode(ByteView in, MutableByteView out, bool last) override {
    CodecStep step;
    while (step.produced < out.size()) {
      if (repeat_left_ == 0) {
        if (step.consumed == in.size()) break;
        current_ = in[step.consumed++] ^ std::byte{0x20};
        repeat_left_ = expansion_;
      }
      out[step.produced++] = current_;
      --repeat_left_;
    }
    step.finished = last && step.consumed == in.size() && repeat_left_ == 0;
    return step;
  }
  bool should_encode(MessageKind, std::size_t size) const noexcept override { return size >= 2; }
  std::error_code encode(ByteView in, bool, std::vector<std::byte>& out) override {
    for (const std::byte b : in) out.push_back(b ^ std::byte{0x20});
    return {};
  }
  std::size_t max_encoded_size(std::size_t size) const noexcept override { return size; }

 private:
  std::size_t expansion_;
  std::size_t repeat_left_ = 0;
  std::byte current_{};
};

class FlipExtension final : public Extension {
 public:
  explicit FlipExtension(std::size_t expansion = 1) : expansion_(expansion) {}
  std::string_view name() const noexcept override { return "x-test"; }
  std::vector<ExtensionElement> client_offers() const override {
    return {ExtensionElement{"x-test", {{"a", "1"}}}};
  }
  Result<std::unique_ptr<ExtensionSession>> client_accept(
      const ExtensionElement& response) const override {
    for (const ExtensionParameter& p : response.parameters) {
      if (p.name == "bad") return errc::invalid_extension_response;
    }
    return std::unique_ptr<ExtensionSession>(std::make_unique<FlipSession>(expansion_));
  }
  std::optional<ExtensionAgreement> server_accept(
      std::span<const ExtensionElement> offers) const override {
    for (const ExtensionElement& offer : offers) {
      const bool skip = std::any_of(offer.parameters.begin(), offer.parameters.end(),
                                    [](const ExtensionParameter& p) { return p.name == "skip"; });
      if (skip) continue;
      ExtensionAgreement agreement;
      agreement.response = ExtensionElement{"x-test", {{"ok", std::nullopt}}};
      agreement.session = std::make_unique<FlipSession>(expansion_);
      return agreement;
    }
    return std::nullopt;
  }

 private:
  std::size_t expansion_;
};

Config with_flip(std::size_t expansion = 1) {
  Config config;
  config.extension = std::make_shared<FlipExtension>(expansion);
  return config;
}

Bytes flipped(std::string_view text) {
  Bytes out = test::bytes_of(text);
  for (std::byte& b : out) b ^= std::byte{0x20};
  return out;
}

test::FrameSpec client_spec(Opcode opcode, bool fin, std::uint8_t rsv) {
  test::FrameSpec spec;
  spec.opcode = opcode;
  spec.fin = fin;
  spec.reserved_bits = rsv;
  return spec;
}

// A server Connection that agreed x-test through a real handshake.
Connection agreed_server(const Config& config = with_flip()) {
  test::ConnectionPair pair = test::make_pair(with_flip(), config);
  test::pump(pair);
  return std::move(pair.server);
}

OwnedEvent last_event(const std::vector<OwnedEvent>& events) {
  if (events.empty()) return OwnedEvent{};
  return events.back();
}

// ---- parsing (RFC 6455 9.1) ----

TEST(ExtensionList, ParsesElementsParametersAndQuotedValues) {
  const std::vector<std::string> values{"Foo; A=1; b, bar", "baz; c=\"12\""};
  Result<std::vector<ExtensionElement>> parsed = parse_extension_list(values);
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->size(), 3U);
  EXPECT_EQ((*parsed)[0],
            (ExtensionElement{"foo", {{"a", std::string("1")}, {"b", std::nullopt}}}));
  EXPECT_EQ((*parsed)[1], (ExtensionElement{"bar", {}}));
  EXPECT_EQ((*parsed)[2], (ExtensionElement{"baz", {{"c", std::string("12")}}}));
}

TEST(ExtensionList, RejectsMalformedElements) {
  // RFC 6455 9.1: a quoted value must be a token once unquoted.
  for (const char* bad : {"; a", "foo;", "foo; =1", "foo; a=", "foo; a=\"1 2\"", "foo; a=\"1",
                          "foo bar", "foo; a b"}) {
    const std::vector<std::string> values{bad};
    EXPECT_FALSE(parse_extension_list(values)) << bad;
  }
}

TEST(ExtensionList, FormatsAnElementForTheHeader) {
  EXPECT_EQ(format_extension_element(ExtensionElement{"x", {{"a", "1"}, {"b", std::nullopt}}}),
            "x; a=1; b");
}

// ---- negotiation ----

TEST(ConnectionExtension, ClientOffersTheConfiguredExtension) {
  Result<Connection> client = Connection::client("ws://example.com/", {}, with_flip());
  ASSERT_TRUE(client);
  const std::string request = test::text_of(test::take_output(*client));
  EXPECT_NE(request.find("Sec-WebSocket-Extensions: x-test; a=1\r\n"), std::string::npos);
}

TEST(ConnectionExtension, BothSidesAgreeThroughTheHandshake) {
  test::ConnectionPair pair = test::make_pair(with_flip(), with_flip());
  test::pump(pair);
  EXPECT_EQ(pair.server.state(), State::open);
  EXPECT_EQ(pair.client.state(), State::open);
  EXPECT_EQ(pair.server.extensions(), "x-test; ok");
  EXPECT_EQ(pair.client.extensions(), "x-test; ok");
}

TEST(ConnectionExtension, ServerWithoutExtensionDeclinesAndFramesStayPlain) {
  test::ConnectionPair pair = test::make_pair(with_flip(), Config{});
  test::pump(pair);
  EXPECT_EQ(pair.client.state(), State::open);
  EXPECT_EQ(pair.client.extensions(), "");
  ASSERT_FALSE(pair.client.send_text("hello"));
  const auto frames = test::parse_frames(test::take_output(pair.client));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.reserved_bits, rsv_none);
}

TEST(ConnectionExtension, ServerFallsBackToTheNextOffer) {
  // RFC 7692 5: the server accepts one of the offers, in the client's order.
  Connection server = Connection::server(with_flip());
  const std::string request = test::head_text(
      "GET /chat HTTP/1.1", test::with(test::upgrade_fields(), "Sec-WebSocket-Extensions",
                                       "x-test; skip, x-test; second"));
  (void)test::feed(server, test::bytes_of(request));
  ASSERT_FALSE(server.accept());
  EXPECT_EQ(server.extensions(), "x-test; ok");
}

TEST(ConnectionExtension, ServerDeclinesAMalformedOfferList) {
  Connection server = Connection::server(with_flip());
  const std::string request = test::head_text(
      "GET /chat HTTP/1.1",
      test::with(test::upgrade_fields(), "Sec-WebSocket-Extensions", "x-test; a=\"1 2\""));
  (void)test::feed(server, test::bytes_of(request));
  ASSERT_FALSE(server.accept());
  EXPECT_EQ(server.state(), State::open);
  EXPECT_EQ(server.extensions(), "");
}

std::error_code client_outcome(std::string_view extensions) {
  Result<Connection> client = Connection::client("ws://example.com/", {}, with_flip());
  const std::string request = test::text_of(test::take_output(*client));
  const auto events =
      test::feed(*client, test::bytes_of(test::switching_response(request, extensions)));
  const OwnedEvent event = last_event(events);
  if (event.type == OwnedEvent::Type::opened) return {};
  return event.error ? event.error : make_error_code(errc::not_open);
}

TEST(ConnectionExtension, ClientFailsWhenTheServerAgreesToAnExtensionNotOffered) {
  // RFC 6455 4.1 (item 5 of the client's checks).
  EXPECT_EQ(client_outcome("x-other"), errc::unexpected_extension);
}

TEST(ConnectionExtension, ClientFailsWhenTheExtensionRefusesTheParameters) {
  EXPECT_EQ(client_outcome("x-test; bad"), errc::invalid_extension_response);
  EXPECT_EQ(client_outcome("x-test; a=\"1 2\""), errc::invalid_extension_response);
}

TEST(ConnectionExtension, ClientFailsWhenTheExtensionIsAgreedTwice) {
  EXPECT_EQ(client_outcome("x-test, x-test"), errc::invalid_extension_response);
  EXPECT_EQ(client_outcome("x-test; ok"), std::error_code());
}

TEST(ConnectionExtension, ClientFailureHasTheHandshakeCondition) {
  EXPECT_EQ(client_outcome("x-test; bad"), condition::handshake_failed);
}

// ---- RSV1 claim (RFC 6455 5.2, RFC 7692 6) ----

std::vector<OwnedEvent> server_receives(Connection& server, std::initializer_list<Bytes> frames) {
  return test::feed(server, test::concat(frames));
}

TEST(ConnectionExtension, Rsv1WithoutAnAgreedExtensionFailsWith1002) {
  Connection server = Connection::after_handshake(Role::server, Config{});
  const auto events =
      server_receives(server, {test::frame(client_spec(Opcode::text, true, rsv1), flipped("hi"))});
  EXPECT_EQ(last_event(events).error, errc::reserved_bits_set);
  EXPECT_EQ(last_event(events).sent_code, CloseCode::protocol_error);
}

TEST(ConnectionExtension, DecodesAMessageWhoseFirstFrameHasRsv1) {
  Connection server = agreed_server();
  const auto events = server_receives(
      server, {test::frame(client_spec(Opcode::text, false, rsv1), flipped("hel")),
               test::frame(client_spec(Opcode::ping, true, 0), test::bytes_of("p")),
               test::frame(client_spec(Opcode::continuation, true, 0), flipped("lo"))});
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].type, OwnedEvent::Type::ping);
  EXPECT_EQ(events[1].text(), "hello");
}

TEST(ConnectionExtension, AcceptsUnencodedMessagesOnAnAgreedConnection) {
  // RFC 7692 6: RSV1 clear means the message is not compressed.
  Connection server = agreed_server();
  const auto events = server_receives(server, {test::client_frame(Opcode::text, "plain")});
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].text(), "plain");
}

TEST(ConnectionExtension, Rsv1OnAContinuationFailsWith1002) {
  // RFC 7692 6.1: the bit is set on the first frame only.
  Connection server = agreed_server();
  const auto events = server_receives(
      server, {test::frame(client_spec(Opcode::text, false, rsv1), flipped("a")),
               test::frame(client_spec(Opcode::continuation, true, rsv1), flipped("b"))});
  EXPECT_EQ(last_event(events).error, errc::reserved_bits_set);
  EXPECT_EQ(last_event(events).sent_code, CloseCode::protocol_error);
}

TEST(ConnectionExtension, Rsv1OnAControlFrameFailsWith1002) {
  // RFC 7692 6.1: permessage-deflate does not apply to control frames.
  Connection server = agreed_server();
  const auto events =
      server_receives(server, {test::frame(client_spec(Opcode::ping, true, rsv1), {})});
  EXPECT_EQ(last_event(events).error, errc::reserved_bits_set);
}

TEST(ConnectionExtension, OtherReservedBitsStillFail) {
  Connection server = agreed_server();
  const auto events =
      server_receives(server, {test::frame(client_spec(Opcode::text, true, rsv2), flipped("a"))});
  EXPECT_EQ(last_event(events).error, errc::reserved_bits_set);
}

// ---- decoded size and content ----

TEST(ConnectionExtension, DecodedBytesCountAgainstTheMessageLimit) {
  // RFC 7692 8.1: a small message that expands is stopped at the limit.
  Config config = with_flip(1000);
  config.limits.max_message_size = 4000;
  Connection server = agreed_server(config);
  const auto ok = server_receives(
      server, {test::frame(client_spec(Opcode::binary, true, rsv1), flipped("abcd"))});
  ASSERT_EQ(ok.size(), 1U);
  EXPECT_EQ(ok[0].payload.size(), 4000U);
  const auto events = server_receives(
      server, {test::frame(client_spec(Opcode::binary, true, rsv1), flipped("abcde"))});
  EXPECT_EQ(last_event(events).error, errc::message_too_large);
  EXPECT_EQ(last_event(events).sent_code, CloseCode::message_too_big);
}

TEST(ConnectionExtension, LimitHoldsAcrossFragmentsAndStreamedDelivery) {
  Config config = with_flip(1000);
  config.limits.max_message_size = 2500;
  config.delivery = Delivery::streamed;
  Connection server = agreed_server(config);
  const auto events = server_receives(
      server, {test::frame(client_spec(Opcode::binary, false, rsv1), flipped("a")),
               test::frame(client_spec(Opcode::continuation, false, 0), flipped("b")),
               test::frame(client_spec(Opcode::continuation, true, 0), flipped("c"))});
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].payload.size(), 1000U);
  EXPECT_EQ(events[1].payload.size(), 1000U);
  EXPECT_EQ(events[2].error, errc::message_too_large);
}

TEST(ConnectionExtension, DecodedTextMustBeUtf8) {
  Connection server = agreed_server();
  const auto events = server_receives(
      server, {test::frame(client_spec(Opcode::text, true, rsv1), flipped("ok\xff"))});
  EXPECT_EQ(last_event(events).error, errc::invalid_utf8);
  EXPECT_EQ(last_event(events).sent_code, CloseCode::invalid_payload);
}

TEST(ConnectionExtension, StreamedDeliveryHandsOutDecodedPieces) {
  Config config = with_flip();
  config.delivery = Delivery::streamed;
  Connection server = agreed_server(config);
  const auto events = server_receives(
      server, {test::frame(client_spec(Opcode::text, false, rsv1), flipped("ab")),
               test::frame(client_spec(Opcode::continuation, true, 0), flipped("cd"))});
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].text(), "ab");
  EXPECT_TRUE(events[0].is_first);
  EXPECT_FALSE(events[0].is_last);
  EXPECT_EQ(events[1].text(), "cd");
  EXPECT_TRUE(events[1].is_last);
}

// ---- sending ----

TEST(ConnectionExtension, EncodedMessagesCarryRsv1OnTheirFirstFrameOnly) {
  Config config = with_flip();
  config.auto_fragment_size = 3;
  Connection server = agreed_server(config);
  (void)test::take_output(server);
  ASSERT_FALSE(server.send_text("abcdefg"));
  ASSERT_FALSE(server.send_text("x"));  // below the test extension's threshold
  const auto frames = test::parse_frames(test::take_output(server));
  ASSERT_EQ(frames.size(), 4U);
  EXPECT_EQ(frames[0].header.reserved_bits, rsv1);
  EXPECT_EQ(frames[0].payload, flipped("abc"));
  EXPECT_EQ(frames[1].header.reserved_bits, rsv_none);
  EXPECT_EQ(frames[2].header.reserved_bits, rsv_none);
  EXPECT_EQ(frames[3].header.reserved_bits, rsv_none);
  EXPECT_EQ(frames[3].payload, test::bytes_of("x"));
}

TEST(ConnectionExtension, PreparedMessagesAreEncodedForEachConnection) {
  Connection server = agreed_server();
  (void)test::take_output(server);
  ASSERT_FALSE(server.send_prepared(PreparedMessage::make(MessageKind::text, as_bytes("shared"))));
  ASSERT_FALSE(server.send_prepared(PreparedMessage::make(MessageKind::text, as_bytes("s"))));
  const auto frames = test::parse_frames(test::take_output(server));
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0].header.reserved_bits, rsv1);
  EXPECT_EQ(frames[0].payload, flipped("shared"));
  EXPECT_EQ(frames[1].header.reserved_bits, rsv_none);  // below the threshold: shared as is
  EXPECT_EQ(frames[1].payload, test::bytes_of("s"));
}

TEST(ConnectionExtension, AFullQueueRefusesAnEncodedSendAndQueuesNothing) {
  Config config = with_flip();
  config.limits.max_queued_output = 64;
  Connection server = agreed_server(config);
  (void)test::take_output(server);
  EXPECT_EQ(server.send_binary(Bytes(100, std::byte{1})), errc::output_queue_full);
  EXPECT_EQ(server.pending_output_size(), 0U);
}

RC_GTEST_PROP(ConnectionExtension, MessagesSurviveTheRoundTripInBothDirections,
              (const std::vector<std::string>& messages)) {
  test::ConnectionPair pair = test::make_pair(with_flip(), with_flip());
  test::pump(pair);
  pair.client_events.clear();
  pair.server_events.clear();
  for (const std::string& m : messages) {
    RC_ASSERT(!pair.client.send_binary(test::bytes_of(m)));
    RC_ASSERT(!pair.server.send_binary(test::bytes_of(m)));
  }
  test::pump(pair);
  RC_ASSERT(pair.client_events.size() == messages.size());
  RC_ASSERT(pair.server_events.size() == messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    RC_ASSERT(pair.client_events[i].payload == test::bytes_of(messages[i]));
    RC_ASSERT(pair.server_events[i].payload == test::bytes_of(messages[i]));
  }
}

}  // namespace
}  // namespace ws
