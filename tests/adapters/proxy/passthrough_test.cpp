// After the tunnel is up, the layer passes bytes through unchanged both
// ways within the StreamLayer contract (stream_layer.hpp): a bounded input
// (wire_room), a bounded output (write takes nothing past it), bytes
// marked in flight that stay in place until consumed, the end of the stream
// once everything was read.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "proxy_test_support.hpp"
#include "ws/proxy/tunnel.hpp"

namespace ws::proxy {
namespace {

using test::give;
using test::make_tunnel;
using test::read_all;
using test::settings;
using test::take_wire;

// One tunnel of each kind, up, with its handshake bytes taken.
std::unique_ptr<StreamLayer> open_tunnel(ProxyKind kind) {
  auto layer = make_tunnel(settings(kind), "echo.example", 80);
  (void)take_wire(*layer);
  if (kind == ProxyKind::http) {
    (void)give(*layer, "HTTP/1.1 200 OK\r\n\r\n");
  } else {
    (void)give(*layer, test::bytes({5, 0}));
    (void)take_wire(*layer);
    (void)give(*layer, test::bytes({5, 0, 0, 1, 10, 0, 0, 1, 0x1F, 0x90}));
  }
  EXPECT_TRUE(layer->handshake_done());
  return layer;
}

class PassThrough : public ::testing::TestWithParam<ProxyKind> {};

INSTANTIATE_TEST_SUITE_P(Kinds, PassThrough, ::testing::Values(ProxyKind::http, ProxyKind::socks5h),
                         [](const auto& param_info) {
                           return std::string(scheme_name(param_info.param));
                         });

TEST_P(PassThrough, BytesGoThroughUnchangedBothWays) {
  auto layer = open_tunnel(GetParam());
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  std::size_t taken = 0;
  (void)test::write_text(*layer, all_bytes, &taken);
  EXPECT_EQ(taken, all_bytes.size());
  EXPECT_EQ(take_wire(*layer), all_bytes);
  EXPECT_EQ(give(*layer, all_bytes), all_bytes);
}

TEST_P(PassThrough, WriteGathersSeveralBuffers) {
  auto layer = open_tunnel(GetParam());
  const std::string a = "header", b = "payload";
  const std::vector<OutputBuffer> buffers{{as_bytes(a).data(), a.size()},
                                          {as_bytes(b).data(), b.size()}};
  EXPECT_EQ(layer->write(buffers), a.size() + b.size());
  EXPECT_EQ(take_wire(*layer), a + b);
}

// stream_layer.hpp: wire_buffer() is empty when the layer holds as much
// undecoded input as it takes; reading makes room again.
TEST_P(PassThrough, InputIsBoundedAndReadingMakesRoom) {
  auto layer = open_tunnel(GetParam());
  EXPECT_EQ(layer->wire_room(), tunnel_input_limit);
  const std::string big(tunnel_input_limit + 100, 'x');
  EXPECT_EQ(layer->receive_wire(as_bytes(big)), tunnel_input_limit);
  EXPECT_EQ(layer->wire_room(), 0U);
  EXPECT_TRUE(layer->wire_buffer().empty());
  std::array<std::byte, 1000> some{};
  EXPECT_EQ(layer->read(some), some.size());
  EXPECT_EQ(layer->wire_room(), some.size());
  // wire_buffer() + commit_wire(), as a transport that reads in place.
  const MutableByteView space = layer->wire_buffer();
  ASSERT_EQ(space.size(), some.size());
  std::memset(space.data(), 'y', 10);
  layer->commit_wire(10);
  EXPECT_EQ(read_all(*layer), std::string(tunnel_input_limit - 1000, 'x') + std::string(10, 'y'));
}

// stream_layer.hpp: write() takes nothing while the pending wire bytes are
// above what the layer buffers; consuming them lets the rest in.
TEST_P(PassThrough, OutputIsBoundedAndConsumingMakesRoom) {
  auto layer = open_tunnel(GetParam());
  const std::string big(tunnel_output_limit + 5000, 'z');
  std::size_t taken = 0;
  (void)test::write_text(*layer, big, &taken);
  EXPECT_EQ(taken, tunnel_output_limit);
  EXPECT_EQ(layer->pending_wire_size(), tunnel_output_limit);
  std::size_t more = 1;
  (void)test::write_text(*layer, "more", &more);
  EXPECT_EQ(more, 0U);
  layer->consume_wire(6000);
  (void)test::write_text(*layer, std::string_view(big).substr(taken), &more);
  EXPECT_EQ(more, 5000U);
  EXPECT_EQ(take_wire(*layer), std::string(tunnel_output_limit + 5000 - 6000, 'z'));
}

// stream_layer.hpp: the first n pending bytes after mark_wire_in_flight(n)
// stay valid and unmoved until consumed (an io_uring send reads them later),
// whatever write() appends meanwhile, also when appending needs the room
// they sit in front of.
TEST_P(PassThrough, BytesInFlightStayInPlaceUntilConsumed) {
  auto layer = open_tunnel(GetParam());
  std::string first(tunnel_output_limit - 100, 'a');
  first.replace(first.size() - 4, 4, "tail");
  std::size_t taken = 0;
  (void)test::write_text(*layer, first, &taken);
  ASSERT_EQ(taken, first.size());
  // A partial send of the front, then the rest in flight.
  layer->consume_wire(1000);
  const auto pending = layer->pending_wire();
  ASSERT_EQ(pending.size(), 1U);
  const std::byte* in_flight = pending[0].data;
  const std::size_t in_flight_size = pending[0].size;
  layer->mark_wire_in_flight(in_flight_size);
  // 1100 bytes do not fit behind the 100 free ones; moving the pending
  // bytes forward would make room but they are in flight: only 100 go.
  const std::string next(1100, 'b');
  (void)test::write_text(*layer, next, &taken);
  EXPECT_EQ(taken, 100U);
  EXPECT_EQ(as_text({in_flight + in_flight_size - 4, 4}), "tail");
  // A partial completion of the send: the rest stays in flight and in place.
  layer->consume_wire(500);
  (void)test::write_text(*layer, next, &taken);
  EXPECT_EQ(taken, 0U);
  EXPECT_EQ(as_text({in_flight + in_flight_size - 4, 4}), "tail");
  // All of it sent: now the layer may move what is left and take more.
  layer->consume_wire(in_flight_size - 500);
  (void)test::write_text(*layer, next, &taken);
  EXPECT_EQ(taken, next.size());
  EXPECT_EQ(take_wire(*layer), std::string(100, 'b') + next);
}

// stream_layer.hpp: read_ended() once the stream ended and read() returned
// all of it; bytes held at the end are all delivered first.
TEST_P(PassThrough, TheEndOfTheWireEndsTheStreamAfterEveryByteWasRead) {
  auto layer = open_tunnel(GetParam());
  EXPECT_EQ(layer->receive_wire(as_bytes("last words")), 10U);
  layer->receive_wire_eof();
  EXPECT_FALSE(layer->read_ended());
  EXPECT_EQ(layer->wire_room(), 0U);
  EXPECT_EQ(read_all(*layer), "last words");
  EXPECT_TRUE(layer->read_ended());
  EXPECT_FALSE(layer->error());
}

// A tunnel has no end marker of its own: shutdown() sends nothing and
// stops write().
TEST_P(PassThrough, ShutdownSendsNothingAndStopsWriting) {
  auto layer = open_tunnel(GetParam());
  layer->shutdown();
  layer->shutdown();
  EXPECT_TRUE(layer->shutdown_started());
  EXPECT_EQ(layer->pending_wire_size(), 0U);
  std::size_t taken = 1;
  (void)test::write_text(*layer, "late", &taken);
  EXPECT_EQ(taken, 0U);
}

TEST_P(PassThrough, IdleBuffersAreFreedAndComeBack) {
  auto layer = open_tunnel(GetParam());
  layer->release_idle_buffers();
  EXPECT_EQ(give(*layer, "again"), "again");
  std::size_t taken = 0;
  (void)test::write_text(*layer, "out", &taken);
  layer->release_idle_buffers();  // holds "out": kept
  EXPECT_EQ(take_wire(*layer), "out");
  EXPECT_TRUE(layer->selected_protocol().empty());
}

}  // namespace
}  // namespace ws::proxy
