// A whole exchange (handshake, messages both ways including fragmented and
// empty ones, ping/pong, close handshake) gives the same result whatever
// size the transport cuts reads and writes to.
#include <gtest/gtest.h>

#include <cstddef>

#include "cut_size_name.hpp"
#include "exchange_script.hpp"
#include "ws/memory/duplex_pipe.hpp"
#include "ws/memory/pump.hpp"

namespace ws {
namespace {

using memory::DuplexPipe;
using memory::Side;
using test::OwnedEvent;

class WholeExchange : public ::testing::TestWithParam<std::size_t> {};

TEST_P(WholeExchange, CompletesWithEveryMessageDeliveredOnceAndACleanClose) {
  Connection client = test::test_client();
  Connection server = Connection::server();
  DuplexPipe pipe(DuplexPipe::cut_to(GetParam()));
  test::ExchangeScript script(/*with_large_message=*/true);

  const memory::PumpResult result = memory::pump(client, server, pipe, script.handler());

  EXPECT_TRUE(result.quiet);
  EXPECT_EQ(script.client_received, script.server_sent);
  EXPECT_EQ(script.server_received, script.client_sent);
  EXPECT_EQ(script.client_sent.size(), 5U);
  EXPECT_EQ(script.server_sent.size(), 9U);  // 4 greetings and 5 echoes
  EXPECT_TRUE(script.client_got_pong);

  // RFC 6455 7.1.2: the server answers the client's close with the same code.
  ASSERT_EQ(script.server_closed.size(), 1U);
  EXPECT_FALSE(script.server_closed[0].error);
  EXPECT_EQ(script.server_closed[0].code, CloseCode::normal);
  EXPECT_EQ(script.server_closed[0].text(), "bye");
  ASSERT_EQ(script.client_closed.size(), 1U);
  EXPECT_FALSE(script.client_closed[0].error);
  EXPECT_EQ(script.client_closed[0].code, CloseCode::normal);

  EXPECT_EQ(client.state(), State::closed);
  EXPECT_EQ(server.state(), State::closed);
  // RFC 6455 7.1.1: the server closes the transport first; both ends are done.
  EXPECT_FALSE(pipe.is_usable(Side::a));
  EXPECT_FALSE(pipe.is_usable(Side::b));
  EXPECT_FALSE(pipe.is_broken(Side::a));
  EXPECT_FALSE(pipe.is_broken(Side::b));
}

INSTANTIATE_TEST_SUITE_P(CutSizes, WholeExchange,
                         ::testing::Values(std::size_t{1}, std::size_t{2}, std::size_t{3},
                                           std::size_t{5}, std::size_t{7}, std::size_t{64},
                                           std::size_t{1000}, memory::no_cut),
                         test::cut_size_name);

TEST(WholeExchangeCuts, DirectionsCanBeCutDifferently) {
  Connection client = test::test_client();
  Connection server = Connection::server();
  DuplexPipe::Faults faults;
  faults.max_chunk_a_to_b = 1;
  faults.max_chunk_b_to_a = 4096;
  DuplexPipe pipe(faults);
  test::ExchangeScript script;

  EXPECT_TRUE(memory::pump(client, server, pipe, script.handler()).quiet);
  EXPECT_EQ(script.client_received, script.server_sent);
  EXPECT_EQ(script.server_received, script.client_sent);
  ASSERT_EQ(script.client_closed.size(), 1U);
  EXPECT_FALSE(script.client_closed[0].error);
  ASSERT_EQ(script.server_closed.size(), 1U);
  EXPECT_FALSE(script.server_closed[0].error);
}

}  // namespace
}  // namespace ws
