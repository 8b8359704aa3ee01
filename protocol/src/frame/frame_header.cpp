#include "ws/frame/frame_header.hpp"

#include <cstring>

#include "ws/base/error.hpp"

namespace ws {
namespace {

void store_big_endian(std::byte* out, std::uint64_t value, std::size_t bytes) noexcept {
  for (std::size_t i = 0; i < bytes; ++i) {
    out[bytes - 1 - i] = static_cast<std::byte>(value & 0xFFU);
    value >>= 8;
  }
}

std::uint64_t load_big_endian(const std::byte* in, std::size_t bytes) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < bytes; ++i) {
    value = (value << 8) | std::to_integer<std::uint64_t>(in[i]);
  }
  return value;
}

}  // namespace

std::size_t encode_frame_header(const FrameHeader& header,
                                std::span<std::byte, max_frame_header_size> out) noexcept {
  const auto first =
      static_cast<unsigned>((header.fin ? 0x80U : 0U) | ((header.reserved_bits & 0x7U) << 4) |
                            (static_cast<unsigned>(header.opcode) & 0x0FU));
  out[0] = static_cast<std::byte>(first);
  const unsigned mask_bit = header.masked ? 0x80U : 0U;
  const std::uint64_t length = header.payload_length & max_payload_length;
  std::size_t size = 2;
  if (length <= 125) {
    out[1] = static_cast<std::byte>(mask_bit | static_cast<unsigned>(length));
  } else if (length <= 0xFFFF) {
    out[1] = static_cast<std::byte>(mask_bit | 126U);
    store_big_endian(out.data() + 2, length, 2);
    size = 4;
  } else {
    out[1] = static_cast<std::byte>(mask_bit | 127U);
    store_big_endian(out.data() + 2, length, 8);
    size = 10;
  }
  if (header.masked) {
    std::memcpy(out.data() + size, header.mask_key.data(), header.mask_key.size());
    size += 4;
  }
  return size;
}

HeaderDecodeResult decode_frame_header(ByteView input) noexcept {
  HeaderDecodeResult result;
  if (input.size() < 2) return result;
  const auto first = std::to_integer<unsigned>(input[0]);
  const auto second = std::to_integer<unsigned>(input[1]);
  FrameHeader& header = result.header;
  header.fin = (first & 0x80U) != 0;
  header.reserved_bits = static_cast<std::uint8_t>((first >> 4) & 0x7U);
  header.opcode = static_cast<Opcode>(first & 0x0FU);
  header.masked = (second & 0x80U) != 0;
  const unsigned length7 = second & 0x7FU;
  const std::size_t length_bytes = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
  const std::size_t size = 2 + length_bytes + (header.masked ? 4 : 0);
  if (input.size() < size) return result;

  if (length_bytes == 0) {
    header.payload_length = length7;
  } else {
    header.payload_length = load_big_endian(input.data() + 2, length_bytes);
    if (length_bytes == 8 && header.payload_length > max_payload_length) {
      result.status = HeaderStatus::invalid;
      result.error = errc::length_high_bit_set;
      return result;
    }
    const std::uint64_t smallest = length_bytes == 2 ? 126 : 0x10000;
    if (header.payload_length < smallest) {
      result.status = HeaderStatus::invalid;
      result.error = errc::non_minimal_length;
      return result;
    }
  }
  if (header.masked) {
    std::memcpy(header.mask_key.data(), input.data() + 2 + length_bytes, 4);
  }
  result.status = HeaderStatus::complete;
  result.header_size = size;
  return result;
}

}  // namespace ws
