// Once warm, a connection that agreed permessage-deflate allocates nothing
// per message either: the encoder's output buffer, the message buffer and
// the zlib streams are kept. This binary replaces the global operator new
// to count (zlib's own malloc happens once, when a stream is first used),
// which is why it is a binary of its own.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "allocation/counting_operator_new.hpp"
#include "support/connection_pair.hpp"
#include "ws/connection.hpp"
#include "ws/deflate/deflate.hpp"

using ws::test::allocation_count;

namespace ws {
namespace {

// Moves every pending byte from one connection to the other and pulls the
// events, storing nothing.
std::size_t transfer(Connection& from, Connection& to) {
  std::size_t messages = 0;
  for (const OutputBuffer& buffer : from.pending_output()) {
    ByteView rest(buffer.data, buffer.size);
    while (!rest.empty()) {
      rest = rest.subspan(to.receive(rest));
      while (auto event = to.next_event()) {
        if (std::holds_alternative<Message>(*event)) ++messages;
      }
    }
  }
  from.consume_output(from.pending_output_size());
  return messages;
}

void run(bool no_context_takeover, Delivery delivery) {
  deflate::Options options;
  options.no_context_takeover = no_context_takeover;
  options.peer_no_context_takeover = no_context_takeover;
  Config config;
  config.extension = deflate::make_extension(options);
  config.delivery = delivery;
  config.random = test::counting_random_source();
  test::ConnectionPair pair = test::make_pair(config, config);
  test::pump(pair);
  ASSERT_EQ(pair.client.extensions().empty(), false);
  const std::string small = "a small chat message, compressed";
  const std::string large(20000, 'z');
  auto round = [&] {
    std::size_t messages = 0;
    for (Connection* c : {&pair.client, &pair.server}) {
      EXPECT_FALSE(c->send_text(small));
      EXPECT_FALSE(c->send_text(large));
      EXPECT_FALSE(c->send_binary(as_bytes(std::string_view(small)), Fin::no));
      EXPECT_FALSE(c->send_binary(as_bytes(std::string_view(large)), Fin::yes));
    }
    messages += transfer(pair.client, pair.server);
    messages += transfer(pair.server, pair.client);
    return messages;
  };
  for (int i = 0; i < 5; ++i) round();
  const std::size_t before = allocation_count.load();
  std::size_t messages = 0;
  for (int i = 0; i < 50; ++i) messages += round();
  EXPECT_EQ(allocation_count.load() - before, 0U);
  EXPECT_GE(messages, 50U * 6U);
  EXPECT_EQ(pair.server.state(), State::open);
}

TEST(DeflateNoAllocation, CounterSeesAColdConnection) {
  const std::size_t before = allocation_count.load();
  Config config;
  config.extension = deflate::make_extension();
  test::ConnectionPair pair = test::make_pair(config, config);
  test::pump(pair);
  EXPECT_GT(allocation_count.load() - before, 2U);
}

TEST(DeflateNoAllocation, WarmConnectionsCompressAndInflateWithoutAllocating) {
  run(false, Delivery::whole_messages);
}

TEST(DeflateNoAllocation, WithoutContextTakeoverAndStreamedDeliveryToo) {
  run(true, Delivery::streamed);
}

}  // namespace
}  // namespace ws
