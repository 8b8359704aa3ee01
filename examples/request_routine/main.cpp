// An HTTP server that handles each request in its own routine, and hands
// WebSocket upgrades over to ws on the same thread (docs/handshake.md walks
// through it). It serves one port on 127.0.0.1: GET / answers with plain
// text; an upgrade to /echo echoes messages until the peer closes.
//
//   ws-request-routine [PORT]      (0 or nothing: a free port, printed)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "ws/connection.hpp"

namespace {

bool write_all(int fd, const std::byte* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Runs one WebSocket connection on this thread until it closes.
void run_websocket(int fd, ws::Connection connection) {
  for (;;) {
    for (const ws::OutputBuffer& buffer : connection.pending_output()) {
      if (!write_all(fd, buffer.data, buffer.size)) return;
      connection.consume_output(buffer.size);
    }
    if (connection.should_close_transport()) return;
    const ws::MutableByteView space = connection.receive_buffer();
    const ssize_t n = ::read(fd, space.data(), space.size());
    if (n <= 0) {
      connection.receive_eof();
    } else {
      connection.commit_received(static_cast<std::size_t>(n));
    }
    while (std::optional<ws::Event> event = connection.next_event()) {
      if (const auto* message = std::get_if<ws::Message>(&*event)) {
        if (message->kind == ws::MessageKind::text) {
          (void)connection.send_text(message->text());
        } else {
          (void)connection.send_binary(message->payload);
        }
      } else if (const auto* closed = std::get_if<ws::Closed>(&*event)) {
        std::printf("websocket closed: code %u%s%s\n", static_cast<unsigned>(closed->code),
                    closed->error ? ", " : "",
                    closed->error ? closed->error.message().c_str() : "");
      }
    }
  }
}

// The application's routine: reads the head itself, as it always did.
void handle_request_routine(int fd) {
  std::string buffer;
  std::size_t head_end = std::string::npos;
  char chunk[4096];
  while (head_end == std::string::npos && buffer.size() < 16384) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
    head_end = buffer.find("\r\n\r\n");
  }
  if (head_end != std::string::npos) {
    const std::string_view head = std::string_view(buffer).substr(0, head_end + 4);
    // Bytes read past the head belong to the WebSocket, not to a body.
    const ws::ByteView after_head = ws::as_bytes(std::string_view(buffer).substr(head_end + 4));
    if (ws::is_upgrade(head)) {
      ws::Result<ws::Connection> accepted = ws::Connection::accept_upgrade(head, after_head);
      if (accepted) {
        run_websocket(fd, std::move(*accepted));
      } else {
        const std::string response = ws::build_error_response(accepted.error());
        write_all(fd, reinterpret_cast<const std::byte*>(response.data()), response.size());
      }
    } else {
      const std::string_view response =
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n"
          "Connection: close\r\n\r\nhello\n";
      write_all(fd, reinterpret_cast<const std::byte*>(response.data()), response.size());
    }
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  const int yes = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 64) != 0) {
    std::perror("listen");
    return 1;
  }
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::printf("listening on 127.0.0.1:%u\n", ntohs(address.sin_port));
  std::fflush(stdout);
  for (;;) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) continue;
    std::thread(handle_request_routine, fd).detach();
  }
}
