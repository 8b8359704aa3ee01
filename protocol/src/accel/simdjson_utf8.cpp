#include "accel/simdjson_utf8.hpp"

#include <simdjson.h>

namespace ws::detail {

bool simdjson_validate_utf8(const char* data, std::size_t size) noexcept {
  // simdjson picks the widest SIMD implementation the CPU has on first use.
  return simdjson::validate_utf8(data, size);
}

}  // namespace ws::detail
