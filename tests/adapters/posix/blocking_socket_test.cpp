// The socket helpers under the POSIX adapters (ws/posix/socket.hpp), and the
// blocking adapter over IPv6 loopback.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <string>

#include "blocking_test_support.hpp"

namespace ws::posix::test {
namespace {

TEST(PosixSocket, FileDescriptorClosesOnceAndMovesOwnership) {
  int pipe_ends[2];
  ASSERT_EQ(::pipe(pipe_ends), 0);
  FileDescriptor read_end(pipe_ends[0]);
  FileDescriptor write_end(pipe_ends[1]);
  FileDescriptor moved(std::move(write_end));
  EXPECT_FALSE(write_end.valid());  // a moved-from descriptor holds -1
  EXPECT_EQ(moved.get(), pipe_ends[1]);
  moved = FileDescriptor{};
  EXPECT_EQ(::fcntl(pipe_ends[1], F_GETFD), -1);  // closed by the assignment
  const int raw = read_end.release();
  EXPECT_FALSE(read_end.valid());
  EXPECT_EQ(::close(raw), 0);
}

TEST(PosixSocket, ListenConnectAcceptAndGatheredWriteOnIpv4Loopback) {
  Result<FileDescriptor> listening = listen_tcp("127.0.0.1", 0, 8);
  ASSERT_TRUE(listening.has_value()) << listening.error().message();
  const std::uint16_t port = local_port(listening->get());
  ASSERT_NE(port, 0);
  Result<FileDescriptor> client = connect_tcp("127.0.0.1", port);
  ASSERT_TRUE(client.has_value()) << client.error().message();
  Result<FileDescriptor> server = accept_tcp(listening->get());
  ASSERT_TRUE(server.has_value()) << server.error().message();
  EXPECT_FALSE(set_nodelay(client->get()));
  EXPECT_FALSE(set_nonblocking(server->get()));

  const std::string first = "gathered ";
  const std::string second = "write";
  const std::array<OutputBuffer, 2> buffers{
      OutputBuffer{reinterpret_cast<const std::byte*>(first.data()), first.size()},
      OutputBuffer{reinterpret_cast<const std::byte*>(second.data()), second.size()}};
  const Result<std::size_t> written = write_some(client->get(), buffers);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(*written, first.size() + second.size());

  std::string received(first.size() + second.size(), '\0');
  pollfd readable{};
  readable.fd = server->get();
  readable.events = POLLIN;
  ASSERT_EQ(::poll(&readable, 1, static_cast<int>(kWait.count())), 1);
  EXPECT_EQ(::recv(server->get(), received.data(), received.size(), MSG_WAITALL),
            static_cast<ssize_t>(received.size()));
  EXPECT_EQ(received, "gathered write");

  // set_nonblocking took effect: an empty socket answers EAGAIN.
  char byte = 0;
  EXPECT_EQ(::recv(server->get(), &byte, 1, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
}

TEST(PosixSocket, WriteSomeReportsAPeerThatIsGone) {
  Result<FileDescriptor> listening = listen_tcp("127.0.0.1", 0, 8);
  ASSERT_TRUE(listening.has_value());
  Result<FileDescriptor> client = connect_tcp("127.0.0.1", local_port(listening->get()));
  ASSERT_TRUE(client.has_value());
  {
    Result<FileDescriptor> server = accept_tcp(listening->get());
    ASSERT_TRUE(server.has_value());
    // Unread data at close makes the kernel reset the connection.
    ASSERT_FALSE(write_all(client->get(), "x", 1));
    pollfd readable{};
    readable.fd = server->get();
    readable.events = POLLIN;
    ASSERT_EQ(::poll(&readable, 1, static_cast<int>(kWait.count())), 1);
  }
  const std::string data(1024, 'y');
  const std::array<OutputBuffer, 1> buffers{
      OutputBuffer{reinterpret_cast<const std::byte*>(data.data()), data.size()}};
  std::error_code error;
  // The first write after a reset may still succeed; a later one fails
  // (EPIPE or ECONNRESET), without SIGPIPE.
  for (int i = 0; i < 100 && !error; ++i) {
    const Result<std::size_t> written = write_some(client->get(), buffers);
    error = written.error();
    if (!error) {
      pollfd wait{};
      wait.fd = client->get();
      wait.events = POLLIN;
      (void)::poll(&wait, 1, 10);
    }
  }
  EXPECT_TRUE(error == std::errc::broken_pipe || error == std::errc::connection_reset)
      << error.message();
}

TEST(PosixSocket, ListenReportsAnAddressInUse) {
  Result<FileDescriptor> first = listen_tcp("127.0.0.1", 0, 8);
  ASSERT_TRUE(first.has_value());
  Result<FileDescriptor> second = listen_tcp("127.0.0.1", local_port(first->get()), 8);
  EXPECT_EQ(second.error(), std::errc::address_in_use);
}

TEST(BlockingHandshake, ClientAndServerOverIpv6Loopback) {
  Result<FileDescriptor> listening = listen_tcp("::1", 0, 8);
  if (!listening) GTEST_SKIP() << "no IPv6 loopback here: " << listening.error().message();
  const std::uint16_t port = local_port(listening->get());
  Recorder server;
  server.echo = true;
  std::promise<std::error_code> served;
  std::thread server_thread([&] {
    Result<FileDescriptor> accepted = accept_tcp(listening->get());
    served.set_value(accepted ? serve(accepted->get(), server) : accepted.error());
  });

  Recorder client;
  client.opened_hook = [](const BlockingSessionPtr& session) {
    EXPECT_FALSE(session->send_text("over v6"));
  };
  client.message_hook = [](const BlockingSessionPtr& session, const Message& message) {
    EXPECT_EQ(message.text(), "over v6");
    EXPECT_FALSE(session->close());
  };
  EXPECT_FALSE(connect("ws://[::1]:" + std::to_string(port) + "/", client));
  std::future<std::error_code> result = served.get_future();
  ASSERT_EQ(result.wait_for(kWait), std::future_status::ready);
  server_thread.join();
  EXPECT_FALSE(result.get());
  EXPECT_EQ(client.messages().size(), 1U);
}

}  // namespace
}  // namespace ws::posix::test
