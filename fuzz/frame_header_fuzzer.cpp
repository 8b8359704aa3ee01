// decode_frame_header on arbitrary bytes: never reads past the input, and a
// header it accepts encodes back to the same bytes (it accepts only the
// shortest length form).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ws/frame/frame_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ws::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  const ws::HeaderDecodeResult decoded = ws::decode_frame_header(input);
  if (decoded.status != ws::HeaderStatus::complete) return 0;
  if (decoded.header_size > size) std::abort();
  std::array<std::byte, ws::max_frame_header_size> out{};
  const std::size_t written = ws::encode_frame_header(decoded.header, out);
  if (written != decoded.header_size) std::abort();
  if (std::memcmp(out.data(), data, written) != 0) std::abort();
  return 0;
}
