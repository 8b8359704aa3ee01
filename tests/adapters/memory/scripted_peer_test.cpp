// Exact bytes in, exact bytes out: the RFC 6455 5.7 examples played by a
// scripted peer against one Connection, with the transport cut to various
// sizes.
#include "ws/memory/scripted_peer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cut_size_name.hpp"
#include "support/frames.hpp"
#include "support/handshake_text.hpp"

namespace ws {
namespace {

using memory::DuplexPipe;
using memory::ScriptedPeer;
using memory::Side;
using test::Bytes;
using test::bytes_of;
using test::OwnedEvent;

// RFC 6455 5.7 examples.
const Bytes kUnmaskedHello = bytes_of({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
const Bytes kMaskedHello =
    bytes_of({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
const Bytes kFragmentedHello = bytes_of({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f});
const Bytes kUnmaskedPingHello = bytes_of({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
const Bytes kMaskedPongHello =
    bytes_of({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
// The same ping masked with the example's key, as a client sends it, and the
// server's unmasked answer.
const Bytes kMaskedPingHello =
    bytes_of({0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
const Bytes kUnmaskedPongHello = bytes_of({0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});

// Yields the masking key of the 5.7 examples, 0x37 0xfa 0x21 0x3d, again and again.
RandomSource example_mask_source() {
  return [](MutableByteView out) {
    static constexpr unsigned kKey[] = {0x37, 0xfa, 0x21, 0x3d};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::byte>(kKey[i % 4]);
  };
}

Connection example_client() {
  Config config;
  config.random = example_mask_source();
  return Connection::after_handshake(Role::client, config);
}

/// Collects the Connection's events, copied.
struct Events {
  std::vector<OwnedEvent> seen;
  memory::EventHandler handler() {
    return [this](Side, Connection&, const Event& event) { seen.push_back(test::own(event)); };
  }
};

class ScriptedPeerRfcExamples : public ::testing::TestWithParam<std::size_t> {
 protected:
  DuplexPipe::Faults faults() const { return DuplexPipe::cut_to(GetParam()); }
};

TEST_P(ScriptedPeerRfcExamples, MaskedTextFromAClientArrivesAsOneMessage) {
  Connection server = Connection::after_handshake(Role::server);
  ScriptedPeer peer(server, faults());
  Events events;
  peer.send(kMaskedHello);
  EXPECT_TRUE(peer.run(events.handler()).quiet);
  ASSERT_EQ(events.seen.size(), 1U);
  EXPECT_EQ(events.seen[0].type, OwnedEvent::Type::message);
  EXPECT_EQ(events.seen[0].kind, MessageKind::text);
  EXPECT_EQ(events.seen[0].text(), "Hello");
}

TEST_P(ScriptedPeerRfcExamples, ServerTextGoesOutUnmasked) {
  Connection server = Connection::after_handshake(Role::server);
  ScriptedPeer peer(server, faults());
  ASSERT_FALSE(server.send_text("Hello"));
  peer.run();
  EXPECT_EQ(peer.take_received(), kUnmaskedHello);
}

TEST_P(ScriptedPeerRfcExamples, MaskedPingIsAnsweredWithTheExactUnmaskedPong) {
  Connection server = Connection::after_handshake(Role::server);
  ScriptedPeer peer(server, faults());
  Events events;
  peer.send(kMaskedPingHello);
  peer.run(events.handler());
  ASSERT_EQ(events.seen.size(), 1U);
  EXPECT_EQ(events.seen[0].type, OwnedEvent::Type::ping);
  EXPECT_EQ(peer.take_received(), kUnmaskedPongHello);
}

TEST_P(ScriptedPeerRfcExamples, UnmaskedPingIsAnsweredWithTheExampleMaskedPong) {
  Connection client = example_client();
  ScriptedPeer peer(client, faults());
  peer.send(kUnmaskedPingHello);
  peer.run();
  EXPECT_EQ(peer.take_received(), kMaskedPongHello);
}

TEST_P(ScriptedPeerRfcExamples, ClientTextGoesOutMaskedAsInTheExample) {
  Connection client = example_client();
  ScriptedPeer peer(client, faults());
  ASSERT_FALSE(client.send_text("Hello"));
  peer.run();
  EXPECT_EQ(peer.take_received(), kMaskedHello);
}

TEST_P(ScriptedPeerRfcExamples, FragmentedTextArrivesAsOneMessage) {
  Connection client = example_client();
  ScriptedPeer peer(client, faults());
  Events events;
  peer.send(kFragmentedHello);
  peer.run(events.handler());
  ASSERT_EQ(events.seen.size(), 1U);
  EXPECT_EQ(events.seen[0].text(), "Hello");
  EXPECT_TRUE(peer.received().empty());
}

TEST_P(ScriptedPeerRfcExamples, BinaryOf256BytesUsesTheTwoByteLength) {
  Connection server = Connection::after_handshake(Role::server);
  ScriptedPeer peer(server, faults());
  const Bytes payload(256, std::byte{0x5A});
  ASSERT_FALSE(server.send_binary(payload));
  peer.run();
  const Bytes expected = test::concat({bytes_of({0x82, 0x7E, 0x01, 0x00}), payload});
  EXPECT_EQ(peer.take_received(), expected);
}

TEST_P(ScriptedPeerRfcExamples, BinaryOf64KiBUsesTheEightByteLength) {
  Connection server = Connection::after_handshake(Role::server);
  ScriptedPeer peer(server, faults());
  const Bytes payload(65536, std::byte{0x5A});
  ASSERT_FALSE(server.send_binary(payload));
  peer.run();
  const Bytes expected = test::concat(
      {bytes_of({0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}), payload});
  EXPECT_EQ(peer.take_received(), expected);
}

// RFC 6455 5.5.1: the server echoes the close code, then closes the
// transport first (7.1.1).
TEST_P(ScriptedPeerRfcExamples, CloseIsEchoedAndTheServerEndsTheStream) {
  Connection server = Connection::after_handshake(Role::server);
  ScriptedPeer peer(server, faults());
  Events events;
  peer.send(test::frame({.opcode = Opcode::close}, test::close_payload(1000)));
  peer.run(events.handler());
  EXPECT_EQ(peer.take_received(), bytes_of({0x88, 0x02, 0x03, 0xe8}));
  EXPECT_TRUE(peer.saw_end_of_stream());
  ASSERT_EQ(events.seen.size(), 1U);
  EXPECT_EQ(events.seen[0].type, OwnedEvent::Type::closed);
  EXPECT_EQ(events.seen[0].code, CloseCode::normal);
  EXPECT_EQ(server.state(), State::closed);
}

INSTANTIATE_TEST_SUITE_P(CutSizes, ScriptedPeerRfcExamples,
                         ::testing::Values(std::size_t{1}, std::size_t{3}, memory::no_cut),
                         test::cut_size_name);

// RFC 6455 1.3 / 4.2.2: the example key yields the example accept value.
TEST(ScriptedPeer, UpgradeRequestIsAnsweredWithTheRfcAcceptValue) {
  Connection server = Connection::server();
  ScriptedPeer peer(server);
  Events events;
  peer.send(as_bytes(test::valid_upgrade_request()));
  peer.run([&](Side side, Connection& connection, const Event& event) {
    if (std::holds_alternative<UpgradeRequested>(event)) {
      EXPECT_FALSE(connection.accept());
    }
    events.handler()(side, connection, event);
  });
  const std::string response = test::text_of(peer.take_received());
  EXPECT_EQ(response.rfind("HTTP/1.1 101", 0), 0U) << response;
  EXPECT_NE(response.find(std::string("Sec-WebSocket-Accept: ") + std::string(test::kRfcAccept)),
            std::string::npos)
      << response;
  ASSERT_EQ(events.seen.size(), 2U);
  EXPECT_EQ(events.seen[1].type, OwnedEvent::Type::opened);
  EXPECT_EQ(server.state(), State::open);
}

// RFC 6455 7.1.5: a stream that ends mid-frame is an abnormal closure.
TEST(ScriptedPeer, PeerThatVanishesMidFrameEndsInAbnormalClosure) {
  Connection server = Connection::after_handshake(Role::server);
  ScriptedPeer peer(server);
  Events events;
  peer.send(ByteView(kMaskedHello).first(6));
  peer.end_stream();
  peer.run(events.handler());
  ASSERT_EQ(events.seen.size(), 1U);
  EXPECT_EQ(events.seen[0].type, OwnedEvent::Type::closed);
  EXPECT_EQ(events.seen[0].code, CloseCode::abnormal);
  EXPECT_EQ(events.seen[0].error, errc::unexpected_eof);
  EXPECT_EQ(server.state(), State::closed);
}

TEST(ScriptedPeer, FailedOperationGivesTheConnectionEndOfStream) {
  Connection server = Connection::after_handshake(Role::server);
  DuplexPipe::Faults faults;
  faults.fail_operation = 2;  // 1 is the peer's write, 2 the Connection's read
  ScriptedPeer peer(server, faults);
  Events events;
  peer.send(kMaskedHello);
  peer.run(events.handler());
  ASSERT_EQ(events.seen.size(), 1U);
  EXPECT_EQ(events.seen[0].error, errc::unexpected_eof);
  EXPECT_TRUE(peer.pipe().is_broken(Side::a));
  EXPECT_TRUE(peer.saw_end_of_stream());
}

}  // namespace
}  // namespace ws
