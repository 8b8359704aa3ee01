// Names, values and limits as nghttp2 hands them over and takes them,
// shared by the server and client connections.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ws::http2::detail {

// Reading stops while this much output waits (a peer that does not read).
inline constexpr std::size_t read_stop_mark = 1024 * 1024;
// Bytes read per receive_buffer() while the HTTP/2 connection reads.
inline constexpr std::size_t read_area_size = 16 * 1024;

/// nghttp2's bytes as text.
inline std::string_view view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// One field to submit; nghttp2 copies names and values when the frame is
/// submitted, so the views need to live only until then.
inline nghttp2_nv field(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace ws::http2::detail
