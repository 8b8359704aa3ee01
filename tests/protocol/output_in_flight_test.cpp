// Output handed to a write that reads it later (an io_uring send): marked
// with mark_output_in_flight(), it stays where pending_output() showed it,
// unchanged, until consumed, and no ping or pong is queued ahead of it,
// whatever the application sends meanwhile. Under AddressSanitizer a moved
// or freed arena makes these tests fail with a use after free.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws {
namespace {

using test::Bytes;

Bytes copy_of(std::span<const OutputBuffer> buffers) {
  Bytes out;
  for (const OutputBuffer& buffer : buffers)
    out.insert(out.end(), buffer.data, buffer.data + buffer.size);
  return out;
}

struct InFlight {
  std::vector<OutputBuffer> buffers;  // as pending_output() showed them
  Bytes bytes;                        // what they held then
  std::size_t size = 0;
};

InFlight hand_out(Connection& c) {
  const std::span<const OutputBuffer> buffers = c.pending_output();
  InFlight flight{{buffers.begin(), buffers.end()}, copy_of(buffers), c.pending_output_size()};
  c.mark_output_in_flight(flight.size);
  return flight;
}

void expect_unchanged(const InFlight& flight) { EXPECT_EQ(copy_of(flight.buffers), flight.bytes); }

TEST(OutputInFlight, StaysInPlaceWhileTheQueueGrowsPastItsArena) {
  Connection c = Connection::after_handshake(Role::server);
  ASSERT_FALSE(c.send_text("in flight"));
  const InFlight flight = hand_out(c);
  // Far more than the arena held: it would have grown (and moved) many times.
  const std::string kilobyte(1024, 'x');
  for (int i = 0; i < 2000; ++i) ASSERT_FALSE(c.send_text(kilobyte));
  expect_unchanged(flight);
  EXPECT_EQ(c.pending_output().front().data, flight.buffers.front().data);
  c.consume_output(flight.size);
  const Bytes rest = copy_of(c.pending_output());
  EXPECT_EQ(rest.size(), 2000 * (kilobyte.size() + 4));
}

TEST(OutputInFlight, PingsAndPongsQueueBehindIt) {
  // RFC 6455 5.5: control frames may go between the frames of a message;
  // here they go ahead of the data not yet handed out, never inside or
  // ahead of bytes a write already reads.
  Config config;
  config.auto_fragment_size = 16;
  Connection c = Connection::after_handshake(Role::server, config);
  ASSERT_FALSE(c.send_text(std::string(64, 'a')));  // 4 frames
  const InFlight flight = hand_out(c);
  ASSERT_FALSE(c.send_text(std::string(32, 'b')));  // 2 frames, not in flight
  ASSERT_FALSE(c.ping(as_bytes(std::string_view("p"))));
  expect_unchanged(flight);
  EXPECT_EQ(c.pending_output().front().data, flight.buffers.front().data);
  c.consume_output(flight.size);
  const std::vector<test::ParsedFrame> frames = test::parse_frames(copy_of(c.pending_output()));
  ASSERT_EQ(frames.size(), 3U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::ping);
  EXPECT_EQ(frames[1].header.opcode, Opcode::text);
}

TEST(OutputInFlight, AWriteThatTookPartReleasesOnlyThatPart) {
  Connection c = Connection::after_handshake(Role::server);
  ASSERT_FALSE(c.send_text(std::string(100, 'a')));
  InFlight flight = hand_out(c);
  // The kernel wrote 10 bytes; the rest is handed out again.
  c.consume_output(10);
  const std::span<const OutputBuffer> rest = c.pending_output();
  EXPECT_EQ(rest.front().data, flight.buffers.front().data + 10);
  c.mark_output_in_flight(c.pending_output_size());
  for (int i = 0; i < 500; ++i) ASSERT_FALSE(c.send_text(std::string(1000, 'c')));
  ASSERT_FALSE(c.pong());
  EXPECT_EQ(c.pending_output().front().data, flight.buffers.front().data + 10);
  EXPECT_TRUE(
      std::equal(flight.bytes.begin() + 10, flight.bytes.end(), c.pending_output().front().data));
}

TEST(OutputInFlight, WithoutAMarkAPongStillJumpsDataNotStarted) {
  // The synchronous transports call pending_output() before every write:
  // for them nothing changes (docs/design.md, "Output").
  Config config;
  config.auto_fragment_size = 16;
  Connection c = Connection::after_handshake(Role::server, config);
  ASSERT_FALSE(c.send_text(std::string(64, 'a')));
  (void)c.pending_output();
  ASSERT_FALSE(c.ping());
  const std::vector<test::ParsedFrame> frames = test::parse_frames(copy_of(c.pending_output()));
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames[0].header.opcode, Opcode::ping);
}

}  // namespace
}  // namespace ws

namespace ws {
namespace {

TEST(OutputInFlight, ConsumingManySmallFramesMovesNoByteInFlight) {
  // The queue drops the records of consumed frames now and then; bytes a
  // write still reads stay where they are meanwhile.
  Connection c = Connection::after_handshake(Role::server);
  for (int i = 0; i < 300; ++i) ASSERT_FALSE(c.send_text("frame"));
  const InFlight flight = hand_out(c);
  // The write completes in small steps: 7 bytes per frame.
  for (int i = 0; i < 250; ++i) c.consume_output(7);
  ASSERT_EQ(c.pending_output_size(), 50U * 7U);
  EXPECT_EQ(c.pending_output().front().data, flight.buffers.front().data + 250 * 7);
  EXPECT_TRUE(std::equal(flight.bytes.begin() + 250 * 7, flight.bytes.end(),
                         c.pending_output().front().data));
}

}  // namespace
}  // namespace ws
