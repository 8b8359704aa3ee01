// Once its buffers are warm, a Connection allocates nothing per frame: not on
// the receive path (whole and fragmented messages, pings) and not when
// sending and consuming output. This binary replaces the global operator
// new to count allocations, which is why it is a binary of its own.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "allocation/counting_operator_new.hpp"
#include "support/frames.hpp"
#include "ws/connection.hpp"

using ws::test::allocation_count;

namespace ws {
namespace {

using test::Bytes;
using test::client_frame;
using test::concat;

// Everything the peer sends in one round: whole messages of several sizes,
// a fragmented message with a ping inside, and a pong.
Bytes one_round() {
  return concat({client_frame(Opcode::binary, std::string(16, 'a')),
                 client_frame(Opcode::text, std::string(125, 'b')),
                 client_frame(Opcode::binary, std::string(5000, 'c')),
                 client_frame(Opcode::text, "frag", false), client_frame(Opcode::ping, "p"),
                 client_frame(Opcode::continuation, std::string(3000, 'd'), true),
                 client_frame(Opcode::pong, "q")});
}

std::size_t run_round(Connection& c, const Bytes& round, std::size_t chunk) {
  std::size_t events = 0;
  ByteView rest(round);
  while (!rest.empty()) {
    const std::size_t n = c.receive(rest.first(std::min(chunk, rest.size())));
    rest = rest.subspan(n);
    while (auto event = c.next_event()) ++events;
  }
  // Answer: the pongs are queued; write them all out, then echo once.
  (void)c.send_binary(as_bytes("reply"));
  while (c.pending_output_size() > 0) {
    const auto buffers = c.pending_output();
    c.consume_output(buffers.front().size);
  }
  return events;
}

TEST(NoAllocation, CounterSeesTheAllocationsOfAColdConnection) {
  // Guards the other tests: a counter that saw nothing would pass them all.
  const std::size_t before = allocation_count.load();
  Connection c = Connection::after_handshake(Role::server);
  run_round(c, one_round(), 1000);
  EXPECT_GT(allocation_count.load() - before, 2U);
}

TEST(NoAllocation, ServerReceivesAndSendsWithoutAllocatingOnceWarm) {
  Connection c = Connection::after_handshake(Role::server);
  const Bytes round = one_round();
  for (std::size_t chunk : {round.size(), std::size_t{7}, std::size_t{1000}}) {
    // Warm up: buffers grow to their working size.
    for (int i = 0; i < 3; ++i) run_round(c, round, chunk);
    const std::size_t before = allocation_count.load();
    std::size_t events = 0;
    for (int i = 0; i < 50; ++i) events += run_round(c, round, chunk);
    EXPECT_EQ(allocation_count.load() - before, 0U) << "chunk " << chunk;
    EXPECT_EQ(events, 50U * 6U);
  }
  EXPECT_EQ(c.state(), State::open);
}

// Large frames that receive() copies straight into the message buffer, one
// finished message parked while the next is joined: the two buffers swap
// roles and keep their capacity.
TEST(NoAllocation, LargeMessagesThroughReceiveDoNotAllocateOnceWarm) {
  Connection c = Connection::after_handshake(Role::server);
  const Bytes round = concat({client_frame(Opcode::binary, std::string(64 * 1024, 'x')),
                              client_frame(Opcode::binary, std::string(64 * 1024, 'y')),
                              client_frame(Opcode::text, std::string(40000, 'z')),
                              client_frame(Opcode::binary, std::string(64 * 1024, 'w'))});
  for (std::size_t chunk : {std::size_t{64 * 1024}, std::size_t{5000}}) {
    for (int i = 0; i < 3; ++i) run_round(c, round, chunk);
    const std::size_t before = allocation_count.load();
    std::size_t events = 0;
    for (int i = 0; i < 20; ++i) events += run_round(c, round, chunk);
    EXPECT_EQ(allocation_count.load() - before, 0U) << "chunk " << chunk;
    EXPECT_EQ(events, 20U * 4U);
  }
  EXPECT_EQ(c.state(), State::open);
}

TEST(NoAllocation, ClientMasksAndSendsWithoutAllocatingOnceWarm) {
  Config config;
  config.random = test::counting_random_source();
  Connection c = Connection::after_handshake(Role::client, config);
  const Bytes payload(2000, std::byte{7});
  auto send_round = [&] {
    for (int i = 0; i < 10; ++i) ASSERT_FALSE(c.send_binary(payload));
    ASSERT_FALSE(c.ping());
    c.consume_output(c.pending_output_size());
  };
  for (int i = 0; i < 3; ++i) send_round();
  const std::size_t before = allocation_count.load();
  for (int i = 0; i < 50; ++i) send_round();
  EXPECT_EQ(allocation_count.load() - before, 0U);
}

}  // namespace
}  // namespace ws
