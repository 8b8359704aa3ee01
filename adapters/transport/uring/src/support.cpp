// probe(): a small ring that tries, for real, what the transport relies on.
// A feature is checked by using it where the kernel could only say
// "missing" through an error (multishot receive has no opcode of its own).
#include "ws/uring/support.hpp"

#include <liburing.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string>

#include "support_detail.hpp"

namespace ws::uring {

namespace detail {

namespace {

std::string kernel_release() {
  utsname name{};
  if (::uname(&name) != 0) return "unknown";
  return name.release;
}

const char* errno_name(int error) {
  switch (error) {
    case EPERM:
      return "EPERM";
    case ENOSYS:
      return "ENOSYS";
    case ENOMEM:
      return "ENOMEM";
    case EINVAL:
      return "EINVAL";
    case EMFILE:
      return "EMFILE";
    case ENFILE:
      return "ENFILE";
    case EACCES:
      return "EACCES";
    default:
      return "errno";
  }
}

Support missing(const std::string& what) {
  Support result;
  result.error = std::make_error_code(std::errc::function_not_supported);
  result.message = "io_uring is not usable here: the kernel (Linux " + kernel_release() +
                   ") lacks " + what + "; Linux 6.0 or later is needed";
  return result;
}

// Multishot receive into a provided buffer ring, on a socket pair with one
// byte waiting: F_MORE on the completion says the receive stays armed.
// Multishot accept (5.19) is older than multishot receive (6.0), so this
// covers it too.
Support check_multishot_receive(io_uring& ring) {
  const long page = ::sysconf(_SC_PAGESIZE);
  const std::size_t ring_bytes = static_cast<std::size_t>(page > 0 ? page : 4096);
  void* memory =
      ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    Support result;
    result.error = std::error_code(errno, std::system_category());
    result.message = "io_uring check failed: mmap: " + result.error.message();
    return result;
  }
  auto* buffers = static_cast<io_uring_buf_ring*>(memory);
  constexpr unsigned entries = 1;
  constexpr int group = 7;
  std::array<char, 64> buffer{};
  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<std::uintptr_t>(memory);
  registration.ring_entries = entries;
  registration.bgid = group;
  Support result;
  const int registered = io_uring_register_buf_ring(&ring, &registration, 0);
  if (registered != 0) {
    ::munmap(memory, ring_bytes);
    if (registered == -EINVAL) return missing("provided buffer rings (Linux 5.19)");
    result.error = std::error_code(-registered, std::system_category());
    result.message = "io_uring check failed: registering a buffer ring: " + result.error.message();
    return result;
  }
  io_uring_buf_ring_init(buffers);
  io_uring_buf_ring_add(buffers, buffer.data(), buffer.size(), 0, io_uring_buf_ring_mask(entries),
                        0);
  io_uring_buf_ring_advance(buffers, 1);

  int pair[2] = {-1, -1};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    result.error = std::error_code(errno, std::system_category());
    result.message = "io_uring check failed: socketpair: " + result.error.message();
  } else {
    const char byte = 'x';
    [[maybe_unused]] const ssize_t written = ::write(pair[1], &byte, 1);
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recv_multishot(sqe, pair[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = group;
    io_uring_sqe_set_data64(sqe, 1);
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec wait{};
    wait.tv_sec = 2;
    int waited = io_uring_submit(&ring);
    if (waited >= 0) waited = io_uring_wait_cqe_timeout(&ring, &cqe, &wait);
    if (waited < 0) {
      result.error = std::error_code(-waited, std::system_category());
      result.message =
          "io_uring check failed: a receive did not complete: " + result.error.message();
    } else if (cqe->res == -EINVAL || (cqe->res > 0 && (cqe->flags & IORING_CQE_F_MORE) == 0)) {
      result = missing("multishot receive (Linux 6.0)");
    } else if (cqe->res < 0) {
      result.error = std::error_code(-cqe->res, std::system_category());
      result.message = "io_uring check failed: a multishot receive: " + result.error.message();
    }
    if (cqe != nullptr) io_uring_cqe_seen(&ring, cqe);
    // The receive may still be armed: closing the ring cancels it.
  }
  // Teardown in the caller: the ring goes first (it cancels the receive),
  // then the descriptors and the memory.
  io_uring_queue_exit(&ring);
  if (pair[0] >= 0) ::close(pair[0]);
  if (pair[1] >= 0) ::close(pair[1]);
  ::munmap(memory, ring_bytes);
  return result;
}

}  // namespace

Support setup_failure(int error) {
  Support result;
  result.error = std::error_code(error, std::system_category());
  std::string cause;
  switch (error) {
    case EPERM:
    case EACCES:
      cause =
          "refused: a seccomp filter, the container's security profile or "
          "kernel.io_uring_disabled forbids it";
      break;
    case ENOSYS:
      cause = "the kernel has no io_uring (built without CONFIG_IO_URING, or a filter hides it)";
      break;
    case ENOMEM:
      cause = "out of memory for the ring (RLIMIT_MEMLOCK too low on kernels before 5.12?)";
      break;
    case EINVAL:
      cause = "the kernel rejects the ring's parameters (too old?)";
      break;
    case EMFILE:
    case ENFILE:
      cause = "out of file descriptors";
      break;
    default:
      cause = result.error.message();
      break;
  }
  result.message = std::string("io_uring is not usable here: io_uring_setup failed with ") +
                   errno_name(error) + " (" + std::strerror(error) + "): " + cause;
  return result;
}

Support check_ring(io_uring& ring) {
  io_uring_probe* opcodes = io_uring_get_probe_ring(&ring);
  if (opcodes == nullptr) {
    io_uring_queue_exit(&ring);
    return missing("the opcode probe (Linux 5.6)");
  }
  struct Needed {
    int opcode;
    const char* name;
  };
  static constexpr std::array<Needed, 9> needed{{
      {IORING_OP_ACCEPT, "IORING_OP_ACCEPT"},
      {IORING_OP_CONNECT, "IORING_OP_CONNECT"},
      {IORING_OP_RECV, "IORING_OP_RECV"},
      {IORING_OP_SENDMSG, "IORING_OP_SENDMSG"},
      {IORING_OP_READ, "IORING_OP_READ"},
      {IORING_OP_TIMEOUT, "IORING_OP_TIMEOUT"},
      {IORING_OP_TIMEOUT_REMOVE, "IORING_OP_TIMEOUT_REMOVE"},
      {IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL"},
      {IORING_OP_SEND_ZC, "IORING_OP_SEND_ZC"},  // marks Linux 6.0
  }};
  for (const Needed& op : needed) {
    if (io_uring_opcode_supported(opcodes, op.opcode) == 0) {
      io_uring_free_probe(opcodes);
      io_uring_queue_exit(&ring);
      return missing(op.name);
    }
  }
  const bool zero_copy = io_uring_opcode_supported(opcodes, IORING_OP_SENDMSG_ZC) != 0;
  io_uring_free_probe(opcodes);
  Support result = check_multishot_receive(ring);  // exits the ring
  if (!result) return result;
  result.zero_copy_send = zero_copy;
  result.message = "io_uring is usable (Linux " + kernel_release() +
                   "; multishot accept and receive, provided buffer rings; zero-copy send: " +
                   (zero_copy ? "yes" : "no") + ")";
  return result;
}

}  // namespace detail

Support probe() {
  io_uring ring{};
  const int created = io_uring_queue_init(8, &ring, 0);
  if (created < 0) return detail::setup_failure(-created);
  return detail::check_ring(ring);
}

}  // namespace ws::uring
