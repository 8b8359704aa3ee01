// Where client masking keys and handshake keys come from.
#pragma once

#include <functional>

#include "ws/base/bytes.hpp"

namespace ws {

/// Fills the given bytes with unpredictable values. Called on the thread that
/// owns the Connection; it must not throw.
using RandomSource = std::function<void(MutableByteView)>;

/// The operating system's CSPRNG (std::random_device, which libstdc++ backs
/// with getrandom or /dev/urandom), drawn in blocks so that masking a small
/// frame does not cost a system call. Each returned source has its own block.
RandomSource system_random_source();

}  // namespace ws
