#include "ws/posix/socket.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace ws::posix {

FileDescriptor::~FileDescriptor() { reset(); }

FileDescriptor::FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

int FileDescriptor::release() noexcept { return std::exchange(fd_, -1); }

void FileDescriptor::reset(int fd) noexcept {
  const int old = std::exchange(fd_, fd);
  // close() is not retried on EINTR: on Linux the descriptor is gone anyway.
  if (old >= 0) ::close(old);
}

std::error_code last_system_error() noexcept { return {errno, std::system_category()}; }

namespace {

struct AddrinfoDeleter {
  void operator()(addrinfo* list) const noexcept { ::freeaddrinfo(list); }
};

std::error_code gai_error(int code) noexcept {
  if (code == EAI_SYSTEM) return last_system_error();
  if (code == EAI_MEMORY) return std::make_error_code(std::errc::not_enough_memory);
  return std::make_error_code(std::errc::address_not_available);
}

// Resolves host:port for a TCP socket. `passive` asks for an address to bind.
Result<std::unique_ptr<addrinfo, AddrinfoDeleter>> resolve(std::string_view host,
                                                           std::uint16_t port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  std::string host_text(host);
  if (host_text.size() >= 2 && host_text.front() == '[' && host_text.back() == ']') {
    host_text = host_text.substr(1, host_text.size() - 2);  // "[::1]" as in a URL
  }
  const std::string port_text = std::to_string(port);
  addrinfo* list = nullptr;
  const int code = ::getaddrinfo(host_text.empty() ? nullptr : host_text.c_str(), port_text.c_str(),
                                 &hints, &list);
  if (code != 0) return gai_error(code);
  return std::unique_ptr<addrinfo, AddrinfoDeleter>(list);
}

}  // namespace

Result<FileDescriptor> listen_tcp(std::string_view host, std::uint16_t port, int backlog) {
  auto list = resolve(host, port, true);
  if (!list) return list.error();
  std::error_code last = std::make_error_code(std::errc::address_not_available);
  for (const addrinfo* ai = list->get(); ai != nullptr; ai = ai->ai_next) {
    FileDescriptor fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      last = last_system_error();
      continue;
    }
    const int on = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), backlog) != 0) {
      last = last_system_error();
      continue;
    }
    return fd;
  }
  return last;
}

std::uint16_t local_port(int fd) noexcept {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, &address, sizeof v4);
    return ntohs(v4.sin_port);
  }
  if (address.ss_family == AF_INET6) {
    sockaddr_in6 v6{};
    std::memcpy(&v6, &address, sizeof v6);
    return ntohs(v6.sin6_port);
  }
  return 0;
}

Result<FileDescriptor> connect_tcp(std::string_view host, std::uint16_t port) {
  auto list = resolve(host, port, false);
  if (!list) return list.error();
  std::error_code last = std::make_error_code(std::errc::address_not_available);
  for (const addrinfo* ai = list->get(); ai != nullptr; ai = ai->ai_next) {
    FileDescriptor fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      last = last_system_error();
      continue;
    }
    int rc = ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINTR) {
      // The connect goes on in the background; wait for its outcome.
      pollfd waiter{};
      waiter.fd = fd.get();
      waiter.events = POLLOUT;
      while ((rc = ::poll(&waiter, 1, -1)) < 0 && errno == EINTR) {
      }
      int error = 0;
      socklen_t length = sizeof error;
      if (rc > 0 && ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) == 0) {
        if (error == 0) return fd;
        errno = error;
      }
      rc = -1;
    }
    if (rc == 0) return fd;
    last = last_system_error();
  }
  return last;
}

Result<TcpAddress> resolve_tcp(std::string_view host, std::uint16_t port) {
  auto list = resolve(host, port, false);
  if (!list) return list.error();
  const addrinfo* first = list->get();
  TcpAddress result;
  if (first->ai_addrlen > sizeof result.address) {
    return std::make_error_code(std::errc::address_family_not_supported);
  }
  std::memcpy(&result.address, first->ai_addr, first->ai_addrlen);
  result.length = first->ai_addrlen;
  result.family = first->ai_family;
  return result;
}

Result<FileDescriptor> nonblocking_tcp_socket(const TcpAddress& address) {
  FileDescriptor socket(
      ::socket(address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!socket) return last_system_error();
  return socket;
}

Result<FileDescriptor> accept_tcp(int listen_fd) {
  for (;;) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) return FileDescriptor(fd);
    if (errno != EINTR && errno != ECONNABORTED) return last_system_error();
  }
}

std::error_code set_nonblocking(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return last_system_error();
  return {};
}

std::error_code set_nodelay(int fd) noexcept {
  const int on = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) return last_system_error();
  return {};
}

std::error_code write_all(int fd, const void* data, std::size_t size) noexcept {
  const auto* next = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::send(fd, next, size, MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR) continue;
      return last_system_error();
    }
    next += written;
    size -= static_cast<std::size_t>(written);
  }
  return {};
}

Result<std::size_t> write_some(int fd, std::span<const OutputBuffer> buffers) noexcept {
  // OutputBuffer is laid out like iovec (output_buffer.hpp); copy into real
  // iovecs anyway rather than rely on the layout through a cast.
  constexpr std::size_t max_vectors = 64;
  static_assert(max_vectors <= IOV_MAX);
  iovec vectors[max_vectors];
  const std::size_t count = std::min(buffers.size(), max_vectors);
  for (std::size_t i = 0; i < count; ++i) {
    vectors[i].iov_base = const_cast<std::byte*>(buffers[i].data);
    vectors[i].iov_len = buffers[i].size;
  }
  msghdr message{};
  message.msg_iov = vectors;
  message.msg_iovlen = count;
  for (;;) {
    const ssize_t written = ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (written >= 0) return static_cast<std::size_t>(written);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::size_t{0};
    return last_system_error();
  }
}

}  // namespace ws::posix
