// The simdjson UTF-8 accelerator, built when WS_WITH_SIMDJSON is on. Only
// simdjson_utf8.cpp includes <simdjson.h>.
#pragma once

#include <cstddef>

namespace ws::detail {

/// True if data[0, size) is complete, valid UTF-8 (RFC 3629).
bool simdjson_validate_utf8(const char* data, std::size_t size) noexcept;

}  // namespace ws::detail
