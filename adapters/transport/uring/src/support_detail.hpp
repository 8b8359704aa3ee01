// The pieces of probe() a UringLoop uses for its own messages.
#pragma once

#include <liburing.h>

#include "ws/uring/support.hpp"

namespace ws::uring::detail {

/// The Support for an io_uring_setup that failed with `error` (an errno):
/// the one-line message names the errno and its likely cause.
Support setup_failure(int error);

/// Checks the opcodes and features the transport needs on `ring`, then
/// exits the ring (always).
Support check_ring(io_uring& ring);

}  // namespace ws::uring::detail
