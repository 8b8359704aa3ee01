// Small POSIX socket helpers shared by the blocking and the epoll adapters:
// an owning file descriptor and TCP listen/connect/accept on loopback or any
// numeric address. Errors are std::error_code values in std::system_category
// built from errno.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>

#include "ws/base/result.hpp"
#include "ws/output_buffer.hpp"

namespace ws::posix {

/// Owns one file descriptor and closes it on destruction. Move-only; a
/// moved-from or default-constructed FileDescriptor holds -1.
/// Thread-safety: none (like int); the descriptor itself may be used from
/// several threads as the kernel allows.
class FileDescriptor {
 public:
  FileDescriptor() noexcept = default;
  /// Takes ownership of `fd` (may be -1).
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  ~FileDescriptor();

  FileDescriptor(FileDescriptor&& other) noexcept;
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  /// Gives up ownership; returns the descriptor (or -1) and leaves -1.
  int release() noexcept;
  /// Closes the current descriptor (if any) and takes `fd`.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

/// std::error_code for the current errno (std::system_category).
std::error_code last_system_error() noexcept;

/// Creates a TCP socket bound to `host` (a numeric IPv4 or IPv6 address such
/// as "127.0.0.1" or "::1", "localhost", or "" for every local address)
/// and `port` (0 = pick a free one;
/// read it back with local_port), with SO_REUSEADDR, listening with
/// `backlog`. The socket is blocking and close-on-exec.
Result<FileDescriptor> listen_tcp(std::string_view host, std::uint16_t port, int backlog);

/// The local port a socket is bound to, or 0 on error.
std::uint16_t local_port(int fd) noexcept;

/// Blocking connect to `host`:`port` (numeric address or "localhost"; host
/// names are resolved with getaddrinfo). Returns a blocking, close-on-exec
/// socket. Retries on EINTR.
Result<FileDescriptor> connect_tcp(std::string_view host, std::uint16_t port);

/// The first address getaddrinfo gives for a TCP connection to
/// `host`:`port` ("[::1]" is taken as ::1), kept for a connect made later
/// (non-blocking, or through io_uring).
struct TcpAddress {
  sockaddr_storage address{};
  socklen_t length = 0;
  int family = 0;
};
/// Errors: the resolver's (its errno for EAI_SYSTEM, else
/// std::errc::address_not_available).
Result<TcpAddress> resolve_tcp(std::string_view host, std::uint16_t port);
/// A non-blocking, close-on-exec TCP socket of `address`'s family.
Result<FileDescriptor> nonblocking_tcp_socket(const TcpAddress& address);

/// Blocking accept on a listening socket; retries on EINTR. The accepted
/// socket is blocking and close-on-exec.
Result<FileDescriptor> accept_tcp(int listen_fd);

/// Sets O_NONBLOCK on `fd`.
std::error_code set_nonblocking(int fd) noexcept;
/// Sets TCP_NODELAY on `fd`.
std::error_code set_nodelay(int fd) noexcept;

/// Writes all `size` bytes of `data` to a blocking socket (loops over short
/// writes, retries on EINTR, uses MSG_NOSIGNAL so a closed peer gives EPIPE
/// rather than SIGPIPE).
std::error_code write_all(int fd, const void* data, std::size_t size) noexcept;

/// One gathered write of `buffers` (a Connection's pending_output()) with
/// sendmsg(MSG_NOSIGNAL | MSG_DONTWAIT): no copy, no SIGPIPE, and it never
/// blocks, even on a blocking socket. Writes at most 64 buffers per call.
/// Returns the bytes written, which may be fewer than asked; 0 when the
/// socket buffer is full (EAGAIN/EWOULDBLOCK). Retries on EINTR.
/// Errors: errno (EPIPE, ECONNRESET, ...).
Result<std::size_t> write_some(int fd, std::span<const OutputBuffer> buffers) noexcept;

}  // namespace ws::posix
