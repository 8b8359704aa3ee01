// ws_uring_refusal_helper: io_uring refused for real. With --seccomp it
// installs a seccomp filter (libseccomp) under which io_uring_setup fails
// with EPERM, as a container runtime's default profile does; then it asks
// ws::uring what it makes of the system: probe() and a UringLoop. It prints
// one line and exits 0 when io_uring is usable, 1 when it is not.
//
//   ws_uring_refusal_helper [--seccomp]
//   ws_uring_refusal_helper [--seccomp] --exec COMMAND [ARGS...]
//       runs COMMAND under the filter instead (execvp): the same refusal
//       for any program, such as ws-echo --io uring.
//
// uring_support_test.cpp runs it; it is a program of its own because a
// seccomp filter cannot be removed from the process that installed it.
#include <seccomp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "ws/uring/support.hpp"
#include "ws/uring/uring_loop.hpp"

namespace {

bool refuse_io_uring() {
  scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
  if (filter == nullptr) return false;
  // libseccomp sets no_new_privs first, so no privilege is needed.
  bool ok = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_setup), 0) == 0 &&
            seccomp_load(filter) == 0;
  seccomp_release(filter);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  int next = 1;
  if (next < argc && std::string_view(argv[next]) == "--seccomp") {
    if (!refuse_io_uring()) {
      std::fprintf(stderr, "ws_uring_refusal_helper: could not install the seccomp filter\n");
      return 3;
    }
    ++next;
  }
  if (next < argc && std::string_view(argv[next]) == "--exec") {
    ++next;
    if (next >= argc) {
      std::fprintf(stderr, "usage: ws_uring_refusal_helper [--seccomp] --exec COMMAND [ARGS...]\n");
      return 3;
    }
    ::execvp(argv[next], argv + next);
    std::fprintf(stderr, "ws_uring_refusal_helper: exec %s: %s\n", argv[next],
                 std::strerror(errno));
    return 127;
  }

  const ws::uring::Support support = ws::uring::probe();
  const ws::uring::UringLoop loop;
  if (!support || loop.creation_error()) {
    // One line, the library's own; the loop reports what probe() reports.
    const std::string& message = support ? loop.creation_message() : support.message;
    std::fprintf(stderr, "%s\n", message.c_str());
    return 1;
  }
  std::printf("%s\n", support.message.c_str());
  return 0;
}
