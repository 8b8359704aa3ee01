// The layer's wire output and memory: bytes marked in flight never move,
// pending output is bounded under write pressure, idle buffers are freed.
#include <malloc.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tls/tls_pair.hpp"

namespace ws::test::tls {
namespace {

constexpr std::size_t pending_wire_limit = 256 * 1024;
constexpr std::size_t one_record = 17 * 1024;  // 16 KiB of plaintext and overhead

// StreamLayer::mark_wire_in_flight: the first n pending bytes stay valid and
// at their address until consumed, while write() appends more (more than a
// block, so new blocks are allocated) and read() runs.
TEST(TlsBuffers, BytesInFlightStayInPlaceUntilConsumed) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  ASSERT_EQ(write_text(*pair.server, std::string(20 * 1024, 'a')), 20u * 1024);
  const OutputBuffer first = pair.server->pending_wire().front();
  const std::size_t n = pair.server->pending_wire_size();
  ASSERT_EQ(first.size, n);
  const std::vector<std::byte> copy(first.data, first.data + n);
  pair.server->mark_wire_in_flight(n);

  const auto unchanged = [&](std::size_t offset) {
    const OutputBuffer now = pair.server->pending_wire().front();
    return now.data == first.data + offset &&
           std::memcmp(now.data, copy.data() + offset, n - offset) == 0;
  };
  // Appending into the same block, then into new ones (200 KiB).
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(write_text(*pair.server, std::string(20 * 1024, char('b' + i))), 20u * 1024);
    ASSERT_TRUE(unchanged(0)) << i;
  }
  // Reading (the client sends; the server decodes) does not move them.
  ASSERT_EQ(write_text(*pair.client, "ping"), 4u);
  transfer(*pair.client, *pair.server);
  read_into(*pair.server, pair.server_received);
  EXPECT_EQ(pair.server_received, "ping");
  ASSERT_TRUE(unchanged(0));
  // A partial send: the rest stays in place too.
  pair.server->consume_wire(n / 2);
  ASSERT_TRUE(unchanged(n / 2));
  ASSERT_EQ(write_text(*pair.server, std::string(20 * 1024, 'z')), 20u * 1024);
  ASSERT_TRUE(unchanged(n / 2));
  // Once consumed, everything still decodes in order at the client.
  ASSERT_EQ(pair.client->receive_wire(ByteView(copy)), n);
  pair.server->consume_wire(n - n / 2);
  pair.pump();
  std::string expected(20 * 1024, 'a');
  for (int i = 0; i < 10; ++i) expected += std::string(20 * 1024, char('b' + i));
  expected += std::string(20 * 1024, 'z');
  EXPECT_TRUE(pair.client_received == expected);
}

// write() stops taking once 256 KiB of wire bytes are pending: the rest
// stays with the caller (the Connection), whose backpressure then works.
TEST(TlsBuffers, PendingWireIsBoundedUnderWritePressure) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  const std::string big(8 * 1024 * 1024, 'p');
  const std::size_t taken = write_text(*pair.server, big);
  EXPECT_GE(taken, pending_wire_limit - one_record);
  EXPECT_LT(taken, pending_wire_limit + one_record);
  EXPECT_LE(pair.server->pending_wire_size(), pending_wire_limit + one_record);
  EXPECT_EQ(write_text(*pair.server, big), 0u);  // still above the bound
  // Many small pieces: the same bound.
  std::vector<OutputBuffer> pieces(10000, OutputBuffer{as_bytes(big).data(), 3});
  EXPECT_EQ(pair.server->write(pieces), 0u);
  // Written out, the layer takes more.
  pair.server->consume_wire(pair.server->pending_wire_size());
  EXPECT_GT(pair.server->write(pieces), 0u);
  EXPECT_LE(pair.server->pending_wire_size(), pending_wire_limit + one_record);
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool malloc_is_counted = false;  // ASan's allocator: mallinfo2 says nothing
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool malloc_is_counted = false;
#else
constexpr bool malloc_is_counted = true;
#endif
#else
constexpr bool malloc_is_counted = true;
#endif

std::size_t heap_in_use() { return mallinfo2().uordblks; }

// release_idle_buffers(): with nothing pending, the wire buffers, OpenSSL's
// record buffers and its memory BIOs' grown buffers are freed, and the
// layer works on afterwards.
TEST(TlsBuffers, ReleaseIdleBuffersFreesThemAndTheLayerWorksOn) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  // Big records both ways grow every buffer.
  const std::string big(200 * 1024, 'r');
  ASSERT_EQ(write_text(*pair.server, big), big.size());
  ASSERT_EQ(write_text(*pair.client, big), big.size());
  pair.pump();
  ASSERT_EQ(pair.server_received.size(), big.size());
  ASSERT_EQ(pair.client->pending_wire_size(), 0u);
  ASSERT_EQ(pair.server->pending_wire_size(), 0u);

  const std::size_t before = heap_in_use();
  pair.server->release_idle_buffers();
  const std::size_t after = heap_in_use();
  if (malloc_is_counted) {
    // 32 KiB of wire output, about 34 KiB of OpenSSL record buffers, the
    // read BIO's growth: well over 48 KiB.
    EXPECT_GT(before - after, 48u * 1024) << before << " -> " << after;
  }
  const SSL* ssl = ws::tls::native_handle(*pair.server);
  EXPECT_EQ(BIO_ctrl_pending(SSL_get_rbio(ssl)), 0u);

  ASSERT_EQ(write_text(*pair.server, "after"), 5u);
  ASSERT_EQ(write_text(*pair.client, "again"), 5u);
  pair.server_received.clear();
  pair.client_received.clear();
  pair.pump();
  EXPECT_EQ(pair.client_received, "after");
  EXPECT_EQ(pair.server_received, "again");
  EXPECT_FALSE(pair.server->error());
}

// With bytes pending nothing is freed that holds them.
TEST(TlsBuffers, ReleaseKeepsPendingBytes) {
  TlsPair pair;
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(pair.handshake());
  ASSERT_EQ(write_text(*pair.server, "kept"), 4u);
  const std::size_t pending = pair.server->pending_wire_size();
  pair.server->release_idle_buffers();
  EXPECT_EQ(pair.server->pending_wire_size(), pending);
  pair.pump();
  EXPECT_EQ(pair.client_received, "kept");
}

}  // namespace
}  // namespace ws::test::tls
