// Whether io_uring can carry this library's transport here: the kernel may
// lack it (too old, built without it), or forbid it (a seccomp filter, a
// container runtime's default profile, kernel.io_uring_disabled). Check
// first with probe(); a UringLoop made where it fails reports the same
// error and message (UringLoop::creation_error()).
#pragma once

#include <string>
#include <system_error>

namespace ws::uring {

/// The outcome of probe().
struct Support {
  /// Empty when io_uring works with every feature the transport uses.
  /// Otherwise a std::system_category code: the errno of io_uring_setup
  /// (EPERM when it is refused, ENOSYS when the kernel has none, ENOMEM at
  /// the locked-memory limit, ...), or ENOSYS
  /// (std::errc::function_not_supported) when a feature is missing
  /// (multishot accept and receive, provided buffer rings: Linux 6.0).
  std::error_code error;
  /// One line for people: what works, or what failed and the likely cause.
  /// No trailing newline.
  std::string message;
  /// Whether zero-copy sends (IORING_OP_SENDMSG_ZC, Linux 6.1) are there
  /// (UringServerOptions::zero_copy_send falls back to copying sends
  /// without them).
  bool zero_copy_send = false;

  explicit operator bool() const noexcept { return !error; }
};

/// Sets up a small ring, checks the opcodes and features the transport
/// needs (including a multishot receive into a provided buffer ring on a
/// socket pair), and tears it down. Costs a few system calls; any thread.
Support probe();

}  // namespace ws::uring
