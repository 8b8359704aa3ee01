// permessage-deflate through a real client/server Connection pair: the
// handshake agrees, messages survive compression in both directions under
// every parameter set, and compressed input cannot break the limits.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "support/connection_pair.hpp"
#include "support/frames.hpp"
#include "support/handshake_text.hpp"
#include "ws/deflate/deflate.hpp"

namespace ws {
namespace {

using test::Bytes;
using test::OwnedEvent;

Config deflating(const deflate::Options& options = {}) {
  Config config;
  config.extension = deflate::make_extension(options);
  return config;
}

test::ConnectionPair opened_pair(const Config& client, const Config& server) {
  test::ConnectionPair pair = test::make_pair(client, server);
  test::pump(pair);
  pair.client_events.clear();
  pair.server_events.clear();
  return pair;
}

TEST(DeflateConnection, DefaultsAgreeOnPlainPermessageDeflate) {
  test::ConnectionPair pair = opened_pair(deflating(), deflating());
  EXPECT_EQ(pair.client.extensions(), "permessage-deflate");
  EXPECT_EQ(pair.server.extensions(), "permessage-deflate");
}

TEST(DeflateConnection, AgreesOnEveryParameterBothSidesAskFor) {
  deflate::Options client;
  client.no_context_takeover = true;
  client.peer_no_context_takeover = true;
  client.peer_max_window_bits = 10;
  client.max_window_bits = 12;
  deflate::Options server;
  server.peer_max_window_bits = 11;
  test::ConnectionPair pair = opened_pair(deflating(client), deflating(server));
  EXPECT_EQ(pair.client.extensions(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=10; client_max_window_bits=11");
}

TEST(DeflateConnection, ClientWithoutTheExtensionGetsPlainFrames) {
  test::ConnectionPair pair = opened_pair(Config{}, deflating());
  EXPECT_EQ(pair.server.extensions(), "");
  ASSERT_FALSE(pair.server.send_text(std::string(1000, 'a')));
  const auto frames = test::parse_frames(test::take_output(pair.server));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.reserved_bits, rsv_none);
  EXPECT_EQ(frames[0].payload.size(), 1000U);
}

TEST(DeflateConnection, CompressesWithRsv1AndTheTailRemoved) {
  // RFC 7692 7.2.1 and 7.2.3.1.
  test::ConnectionPair pair = opened_pair(deflating(), deflating());
  ASSERT_FALSE(pair.server.send_text("Hello"));
  const auto frames = test::parse_frames(test::take_output(pair.server));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.reserved_bits, rsv1);
  EXPECT_EQ(frames[0].payload, test::bytes_of({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
}

TEST(DeflateConnection, MessagesBelowTheThresholdGoUncompressedAndAreAccepted) {
  deflate::Options options;
  options.min_size = 100;
  test::ConnectionPair pair = opened_pair(deflating(options), deflating());
  ASSERT_FALSE(pair.client.send_text("short"));
  ASSERT_FALSE(pair.client.send_text(std::string(200, 'z')));
  const Bytes wire = test::take_output(pair.client);
  const auto frames = test::parse_frames(wire);
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0].header.reserved_bits, rsv_none);
  EXPECT_EQ(frames[1].header.reserved_bits, rsv1);
  const auto events = test::feed(pair.server, wire);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].text(), "short");
  EXPECT_EQ(events[1].text(), std::string(200, 'z'));
}

TEST(DeflateConnection, ControlFramesMayComeBetweenCompressedFragments) {
  // RFC 7692 6.1 with RFC 6455 5.4.
  test::ConnectionPair pair = opened_pair(deflating(), deflating());
  ASSERT_FALSE(pair.client.send_text("first half, ", Fin::no));
  ASSERT_FALSE(pair.client.ping(as_bytes(std::string_view("p"))));
  ASSERT_FALSE(pair.client.send_text("second half", Fin::yes));
  test::pump(pair);
  ASSERT_EQ(pair.server_events.size(), 2U);
  EXPECT_EQ(pair.server_events[0].type, OwnedEvent::Type::ping);
  EXPECT_EQ(pair.server_events[1].text(), "first half, second half");
}

TEST(DeflateConnection, AZipBombClosesWith1009) {
  // RFC 7692 8.1: 16 MiB of zeros compress to about 16 KiB; the server's
  // limit is 1 MiB and it stops there.
  Config server = deflating();
  server.limits.max_message_size = 1 << 20;
  test::ConnectionPair pair = opened_pair(deflating(), server);
  ASSERT_FALSE(pair.client.send_binary(Bytes(16U << 20, std::byte{0})));
  const Bytes wire = test::take_output(pair.client);
  EXPECT_LT(wire.size(), 64U * 1024U);
  const auto events = test::feed(pair.server, wire);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().error, errc::message_too_large);
  EXPECT_EQ(events.back().sent_code, CloseCode::message_too_big);
}

TEST(DeflateConnection, WorksWithoutAMessageLimit) {
  Config server = deflating();
  server.limits.max_message_size = UINT64_MAX;
  test::ConnectionPair pair = opened_pair(deflating(), server);
  ASSERT_FALSE(pair.client.send_text(std::string(100000, 'q')));
  test::pump(pair);
  ASSERT_EQ(pair.server_events.size(), 1U);
  EXPECT_EQ(pair.server_events[0].text(), std::string(100000, 'q'));
}

TEST(DeflateConnection, CorruptCompressedDataClosesWith1002) {
  test::ConnectionPair pair = opened_pair(deflating(), deflating());
  test::FrameSpec spec;
  spec.opcode = Opcode::binary;
  spec.reserved_bits = rsv1;
  const auto events = test::feed(pair.server, test::frame(spec, test::bytes_of({0xff, 0xff})));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().error, errc::extension_failed);
  EXPECT_EQ(events.back().sent_code, CloseCode::protocol_error);
}

// ---- channels: one compression for many subscribers ----

const std::byte* first_frame_address(Connection& server) {
  const auto buffers = server.pending_output();
  return buffers.empty() ? nullptr : buffers.front().data;
}

TEST(DeflatePrepared, NoContextTakeoverSubscribersShareOneCompressedFrame) {
  deflate::Options shared;
  shared.no_context_takeover = true;
  test::ConnectionPair a = opened_pair(deflating(), deflating(shared));
  test::ConnectionPair b = opened_pair(deflating(), deflating(shared));
  test::ConnectionPair takeover = opened_pair(deflating(), deflating());
  test::ConnectionPair plain = opened_pair(Config{}, deflating());
  const std::string text = "a message for every subscriber " + std::string(500, 'x');
  const auto message = deflate::prepare(MessageKind::text, as_bytes(text), shared);
  ASSERT_TRUE(message->encoded());
  for (test::ConnectionPair* pair : {&a, &b, &takeover, &plain}) {
    ASSERT_FALSE(pair->server.send_prepared(message));
  }
  // The same bytes, by reference, for both no-takeover subscribers.
  EXPECT_EQ(first_frame_address(a.server), message->encoded()->frame().data());
  EXPECT_EQ(first_frame_address(b.server), message->encoded()->frame().data());
  EXPECT_NE(first_frame_address(takeover.server), message->encoded()->frame().data());
  EXPECT_EQ(first_frame_address(plain.server), message->frame().data());
  for (test::ConnectionPair* pair : {&a, &b, &takeover, &plain}) {
    test::pump(*pair);
    ASSERT_EQ(pair->client_events.size(), 1U);
    EXPECT_EQ(pair->client_events[0].text(), text);
  }
}

TEST(DeflatePrepared, ADifferentWindowCompressesForItself) {
  deflate::Options small;
  small.no_context_takeover = true;
  small.max_window_bits = 10;
  test::ConnectionPair pair = opened_pair(deflating(), deflating(small));
  deflate::Options shared;
  shared.no_context_takeover = true;
  const auto message = deflate::prepare(MessageKind::binary, Bytes(3000, std::byte{7}), shared);
  ASSERT_FALSE(pair.server.send_prepared(message));
  EXPECT_NE(first_frame_address(pair.server), message->encoded()->frame().data());
  test::pump(pair);
  ASSERT_EQ(pair.client_events.size(), 1U);
  EXPECT_EQ(pair.client_events[0].payload, Bytes(3000, std::byte{7}));
}

// RFC 6455 5.4 with RFC 7692 6.1: a shared compressed message longer than
// Config::auto_fragment_size goes out in fragments, RSV1 on the first only.
TEST(DeflatePrepared, ASharedCompressedMessageIsFragmentedWhenAsked) {
  deflate::Options shared;
  shared.no_context_takeover = true;
  Config server = deflating(shared);
  server.auto_fragment_size = 16;
  test::ConnectionPair pair = opened_pair(deflating(), server);
  std::string text;
  for (int i = 0; i < 200; ++i) text += std::to_string(i * 7919) + ",";
  const auto message = deflate::prepare(MessageKind::text, as_bytes(text), shared);
  ASSERT_TRUE(message->encoded());
  ASSERT_GT(message->encoded()->payload_size(), 16U);
  ASSERT_FALSE(pair.server.send_prepared(message));
  const auto frames = test::parse_frames(test::take_output(pair.server));
  ASSERT_GT(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.reserved_bits, rsv1);
  EXPECT_EQ(frames[0].header.opcode, Opcode::text);
  for (std::size_t i = 1; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].header.reserved_bits, rsv_none);
    EXPECT_EQ(frames[i].header.opcode, Opcode::continuation);
    EXPECT_LE(frames[i].payload.size(), 16U);
  }
  EXPECT_TRUE(frames.back().header.fin);
  // The client joins and inflates them.
  ASSERT_FALSE(pair.server.send_prepared(message));
  test::pump(pair);
  ASSERT_EQ(pair.client_events.size(), 1U);
  EXPECT_EQ(pair.client_events[0].text(), text);
}

// ---- properties ----

deflate::Options gen_options() {
  deflate::Options o;
  o.max_window_bits = *rc::gen::inRange(8, 16);
  o.mem_level = *rc::gen::inRange(1, 10);
  o.level = *rc::gen::inRange(0, 10);
  o.no_context_takeover = *rc::gen::arbitrary<bool>();
  o.peer_no_context_takeover = *rc::gen::arbitrary<bool>();
  o.peer_max_window_bits = *rc::gen::element(0, 9, 10, 12, 15);
  o.min_size = *rc::gen::element<std::size_t>(0, 0, 10, 100);
  return o;
}

Config gen_config(const deflate::Options& options) {
  Config config = deflating(options);
  config.delivery = *rc::gen::element(Delivery::whole_messages, Delivery::streamed);
  config.auto_fragment_size = *rc::gen::element<std::size_t>(0, 0, 1, 7, 1000);
  return config;
}

struct Piece {
  std::string text;
  bool binary = false;
  int fragments = 1;
};

// Joins streamed pieces back into messages.
std::vector<std::string> messages_of(const std::vector<OwnedEvent>& events) {
  std::vector<std::string> out;
  bool open = false;
  for (const OwnedEvent& e : events) {
    if (e.type != OwnedEvent::Type::message) continue;
    if (!open) out.emplace_back();
    out.back() += e.text();
    open = !e.is_last;
  }
  return out;
}

RC_GTEST_PROP(DeflateConnection, EveryMessageArrivesIntactUnderEveryParameterSet, ()) {
  const Config client_config = gen_config(gen_options());
  const Config server_config = gen_config(gen_options());
  test::ConnectionPair pair = opened_pair(client_config, server_config);
  RC_ASSERT(pair.client.state() == State::open);
  RC_ASSERT(pair.server.state() == State::open);
  const auto texts = *rc::gen::container<std::vector<std::string>>(
      rc::gen::oneOf(rc::gen::arbitrary<std::string>(),
                     rc::gen::map(rc::gen::arbitrary<std::string>(), [](const std::string& s) {
                       std::string repeated;
                       for (int i = 0; i < 20; ++i) repeated += s;
                       return repeated;
                     })));
  std::vector<std::string> sent;
  for (const std::string& text : texts) {
    // Binary so arbitrary bytes are allowed; some messages in fragments with a ping between.
    const std::size_t cut = text.size() / 2;
    const bool fragmented = *rc::gen::arbitrary<bool>();
    for (Connection* c : {&pair.client, &pair.server}) {
      if (fragmented) {
        RC_ASSERT(!c->send_binary(as_bytes(std::string_view(text).substr(0, cut)), Fin::no));
        RC_ASSERT(!c->ping());
        RC_ASSERT(!c->send_binary(as_bytes(std::string_view(text).substr(cut)), Fin::yes));
      } else {
        RC_ASSERT(!c->send_binary(as_bytes(text)));
      }
    }
    sent.push_back(text);
    if (*rc::gen::arbitrary<bool>()) test::pump(pair);
  }
  test::pump(pair);
  RC_ASSERT(messages_of(pair.server_events) == sent);
  RC_ASSERT(messages_of(pair.client_events) == sent);
}

RC_GTEST_PROP(DeflateConnection, ArbitraryCompressedPayloadsNeverCrashOrPassTheLimit,
              (const std::vector<std::uint8_t>& payload)) {
  Config server = deflating();
  server.limits.max_message_size = *rc::gen::inRange<std::uint64_t>(0, 2000);
  server.delivery = *rc::gen::element(Delivery::whole_messages, Delivery::streamed);
  test::ConnectionPair pair = opened_pair(deflating(), server);
  Bytes bytes;
  for (const std::uint8_t b : payload) bytes.push_back(static_cast<std::byte>(b));
  test::FrameSpec spec;
  spec.opcode = *rc::gen::element(Opcode::text, Opcode::binary);
  spec.reserved_bits = rsv1;
  const auto events = test::feed(pair.server, test::frame(spec, bytes));
  std::size_t delivered = 0;
  for (const OwnedEvent& e : events) {
    if (e.type == OwnedEvent::Type::message) delivered += e.payload.size();
    if (e.type == OwnedEvent::Type::closed) {
      RC_ASSERT(e.error == errc::extension_failed || e.error == errc::message_too_large ||
                e.error == errc::invalid_utf8);
    }
  }
  RC_ASSERT(delivered <= server.limits.max_message_size);
}

}  // namespace
}  // namespace ws

namespace ws {
namespace {

// RFC 8441 5 keeps Sec-WebSocket-Extensions as it is over HTTP/1.1: a
// WebSocket on an HTTP/2 stream agrees permessage-deflate through the same
// offer and answer, and then compresses like any other.
TEST(DeflateConnection, AgreesOverAnHttp2StreamThroughTheSameFields) {
  const ExtendedConnectRequest request = test::extended_connect(
      {{"sec-websocket-version", "13"},
       {"sec-websocket-extensions", "permessage-deflate; client_max_window_bits"}});
  Result<Connection> made =
      Connection::server_for_stream(request, std::make_shared<const Config>(deflating()));
  ASSERT_TRUE(made);
  Connection& server = *made;
  (void)server.next_event();
  ASSERT_FALSE(server.accept());
  const std::optional<StreamAnswer> answer = server.take_stream_answer();
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->fields.size(), 1U);
  EXPECT_EQ(answer->fields[0].name, "sec-websocket-extensions");
  EXPECT_EQ(answer->fields[0].value.rfind("permessage-deflate", 0), 0U);
  EXPECT_EQ(server.extensions(), answer->fields[0].value);
  ASSERT_FALSE(server.send_text(std::string(200, 'z')));
  const std::vector<test::ParsedFrame> frames = test::parse_frames(test::take_output(server));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_NE(frames[0].header.reserved_bits & rsv1, 0);  // RFC 7692 6: compressed
  EXPECT_LT(frames[0].payload.size(), 200U);
}

}  // namespace
}  // namespace ws

// ---- Over an HTTP/2 stream (RFC 8441 5: the same negotiation fields) -------------

namespace ws {
namespace {

TEST(DeflateOverHttp2, NegotiatedThroughTheSameFieldsAndMessagesSurvive) {
  const Config client_config = deflating();
  Connection client = std::move(*Connection::client_for_stream("wss://h/chat", {}, client_config));
  const std::optional<ExtendedConnectRequest> request = client.take_stream_request();
  ASSERT_TRUE(request);
  bool offered = false;
  for (const HeaderField& field : request->headers) {
    offered = offered || (field.name == "sec-websocket-extensions" &&
                          field.value.find("permessage-deflate") != std::string::npos);
  }
  EXPECT_TRUE(offered);
  Result<Connection> made =
      Connection::server_for_stream(*request, std::make_shared<const Config>(deflating()));
  ASSERT_TRUE(made) << made.error().message();
  Connection& server = *made;
  (void)server.next_event();
  ASSERT_FALSE(server.accept());
  const StreamAnswer answer = *server.take_stream_answer();
  ASSERT_FALSE(client.receive_stream_response(answer.status, answer.fields));
  ASSERT_TRUE(std::holds_alternative<Opened>(*client.next_event()));
  EXPECT_EQ(client.extensions(), "permessage-deflate");
  EXPECT_EQ(server.extensions(), "permessage-deflate");
  const std::string text(4000, 'w');
  ASSERT_FALSE(client.send_text(text));
  const Bytes wire = test::take_output(client);
  EXPECT_LT(wire.size(), 200U);  // compressed (RFC 7692 7.2.1)
  std::vector<OwnedEvent> events = test::feed(server, wire);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().text(), text);
}

}  // namespace
}  // namespace ws
