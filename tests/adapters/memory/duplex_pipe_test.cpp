// The in-memory pipe itself: bytes flow both ways in order, reads and writes
// are cut per direction, the N-th operation fails and breaks the pipe, and
// shutdown and close end the stream as a socket would.
#include "ws/memory/duplex_pipe.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "support/frames.hpp"

namespace ws::memory {
namespace {

using test::Bytes;
using test::bytes_of;

std::string read_text(DuplexPipe& pipe, Side side, std::size_t room = 64) {
  Bytes buffer(room);
  const IoResult result = pipe.read(side, buffer);
  EXPECT_FALSE(result.error);
  return std::string(as_text(ByteView(buffer).first(result.bytes)));
}

TEST(DuplexPipe, BytesWrittenByOneEndpointAreReadByTheOtherInOrder) {
  DuplexPipe pipe;
  EXPECT_EQ(pipe.write(Side::a, bytes_of("to b")).bytes, 4U);
  EXPECT_EQ(pipe.write(Side::b, bytes_of("to a")).bytes, 4U);
  EXPECT_EQ(pipe.write(Side::a, bytes_of(", again")).bytes, 7U);
  EXPECT_EQ(pipe.available(Side::b), 11U);
  EXPECT_EQ(read_text(pipe, Side::b), "to b, again");
  EXPECT_EQ(read_text(pipe, Side::a), "to a");
  EXPECT_EQ(pipe.operation_count(), 5U);
}

TEST(DuplexPipe, ReadOfAnEmptyInboxReturnsNothingAndNoEndOfStream) {
  DuplexPipe pipe;
  std::array<std::byte, 8> buffer{};
  const IoResult result = pipe.read(Side::a, buffer);
  EXPECT_EQ(result.bytes, 0U);
  EXPECT_FALSE(result.end_of_stream);
  EXPECT_FALSE(result.error);
  EXPECT_FALSE(pipe.has_input(Side::a));
}

TEST(DuplexPipe, ReadTakesNoMoreThanTheBufferHolds) {
  DuplexPipe pipe;
  (void)pipe.write(Side::a, bytes_of("abcdef"));
  EXPECT_EQ(read_text(pipe, Side::b, 4), "abcd");
  EXPECT_EQ(read_text(pipe, Side::b, 4), "ef");
}

TEST(DuplexPipe, WritesAndReadsAreCutToTheDirectionsChunkSize) {
  DuplexPipe::Faults faults;
  faults.max_chunk_a_to_b = 3;
  faults.max_chunk_b_to_a = 2;
  DuplexPipe pipe(faults);
  EXPECT_EQ(pipe.write(Side::a, bytes_of("abcdef")).bytes, 3U);
  EXPECT_EQ(pipe.write(Side::a, bytes_of("def")).bytes, 3U);
  EXPECT_EQ(read_text(pipe, Side::b), "abc");
  EXPECT_EQ(read_text(pipe, Side::b), "def");
  EXPECT_EQ(pipe.write(Side::b, bytes_of("xyz")).bytes, 2U);
  EXPECT_EQ(pipe.write(Side::b, bytes_of("z")).bytes, 1U);
  EXPECT_EQ(read_text(pipe, Side::a), "xy");
  EXPECT_EQ(pipe.available(Side::a), 1U);
}

TEST(DuplexPipe, CutOfZeroCountsAsOne) {
  DuplexPipe pipe(DuplexPipe::cut_to(0));
  EXPECT_EQ(pipe.write(Side::a, bytes_of("ab")).bytes, 1U);
}

TEST(DuplexPipe, GatherWriteTakesFromTheBuffersInOrderUpToTheCut) {
  DuplexPipe pipe(DuplexPipe::cut_to(5));
  const Bytes first = bytes_of("abc");
  const Bytes second = bytes_of("defg");
  const std::array<OutputBuffer, 2> buffers{OutputBuffer{first.data(), first.size()},
                                            OutputBuffer{second.data(), second.size()}};
  const IoResult result = pipe.write(Side::a, buffers);
  EXPECT_EQ(result.bytes, 5U);
  EXPECT_EQ(pipe.operation_count(), 1U);
  EXPECT_EQ(read_text(pipe, Side::b), "abcde");
}

TEST(DuplexPipe, ShutdownGivesThePeerEndOfStreamAfterTheWrittenBytes) {
  DuplexPipe pipe;
  (void)pipe.write(Side::a, bytes_of("last"));
  pipe.shutdown_write(Side::a);
  EXPECT_EQ(pipe.write(Side::a, bytes_of("more")).error, std::errc::broken_pipe);
  EXPECT_EQ(read_text(pipe, Side::b), "last");
  ASSERT_TRUE(pipe.has_input(Side::b));
  std::array<std::byte, 8> buffer{};
  EXPECT_TRUE(pipe.read(Side::b, buffer).end_of_stream);
  EXPECT_FALSE(pipe.has_input(Side::b));                  // reported once ...
  EXPECT_TRUE(pipe.read(Side::b, buffer).end_of_stream);  // ... but it stays true
  // The other direction still works.
  EXPECT_EQ(pipe.write(Side::b, bytes_of("reply")).bytes, 5U);
  EXPECT_EQ(read_text(pipe, Side::a), "reply");
}

TEST(DuplexPipe, CloseEndsTheEndpointAndDropsThePeersLaterWrites) {
  DuplexPipe pipe;
  (void)pipe.write(Side::b, bytes_of("unread"));
  pipe.close(Side::a);
  EXPECT_FALSE(pipe.is_usable(Side::a));
  EXPECT_FALSE(pipe.has_input(Side::a));
  std::array<std::byte, 8> buffer{};
  EXPECT_EQ(pipe.read(Side::a, buffer).error, std::errc::not_connected);
  EXPECT_EQ(pipe.write(Side::a, bytes_of("x")).error, std::errc::not_connected);
  // Like a socket whose peer is gone: the write is taken and goes nowhere.
  const IoResult dropped = pipe.write(Side::b, bytes_of("lost"));
  EXPECT_FALSE(dropped.error);
  EXPECT_EQ(dropped.bytes, 4U);
  EXPECT_TRUE(pipe.read(Side::b, buffer).end_of_stream);
}

TEST(DuplexPipe, TheChosenOperationFailsAndBreaksItsEndpoint) {
  DuplexPipe::Faults faults;
  faults.fail_operation = 3;
  DuplexPipe pipe(faults);
  EXPECT_FALSE(pipe.write(Side::a, bytes_of("one")).error);        // operation 1
  EXPECT_FALSE(pipe.write(Side::b, bytes_of("two")).error);        // operation 2
  const IoResult failed = pipe.write(Side::a, bytes_of("three"));  // operation 3
  EXPECT_EQ(failed.error, std::errc::io_error);
  EXPECT_EQ(failed.bytes, 0U);
  EXPECT_TRUE(pipe.is_broken(Side::a));
  EXPECT_FALSE(pipe.is_usable(Side::a));

  // Further operations on the broken endpoint fail ...
  std::array<std::byte, 8> buffer{};
  EXPECT_EQ(pipe.read(Side::a, buffer).error, std::errc::not_connected);
  EXPECT_EQ(pipe.write(Side::a, bytes_of("x")).error, std::errc::not_connected);
  // ... and the peer reads what arrived before the failure, then end of stream.
  EXPECT_EQ(read_text(pipe, Side::b), "one");
  EXPECT_TRUE(pipe.read(Side::b, buffer).end_of_stream);
  EXPECT_FALSE(pipe.is_broken(Side::b));
  EXPECT_EQ(pipe.operation_count(), 7U);
}

TEST(DuplexPipe, AReadCanBeTheFailingOperation) {
  DuplexPipe::Faults faults;
  faults.fail_operation = 2;
  DuplexPipe pipe(faults);
  (void)pipe.write(Side::a, bytes_of("data"));
  std::array<std::byte, 8> buffer{};
  EXPECT_EQ(pipe.read(Side::b, buffer).error, std::errc::io_error);
  EXPECT_TRUE(pipe.is_broken(Side::b));
  EXPECT_TRUE(pipe.read(Side::a, buffer).end_of_stream);
}

TEST(DuplexPipe, NoOperationFailsWhenNoneIsChosen) {
  DuplexPipe pipe;
  std::array<std::byte, 1> buffer{};
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(pipe.write(Side::a, bytes_of("x")).error);
    EXPECT_FALSE(pipe.read(Side::b, buffer).error);
  }
  EXPECT_EQ(pipe.operation_count(), 200U);
}

}  // namespace
}  // namespace ws::memory
