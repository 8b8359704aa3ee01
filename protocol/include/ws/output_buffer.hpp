// One piece of a Connection's pending output: a pointer and a size, laid out
// like struct iovec and convertible to any buffer sequence (Asio's
// const_buffer, writev's iovec) without copying the bytes.
#pragma once

#include <cstddef>

namespace ws {

struct OutputBuffer {
  const std::byte* data = nullptr;
  std::size_t size = 0;
};

}  // namespace ws
