// Writing HTTP/1.1 heads for the handshake. Internal: not installed.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "ws/handshake/http_head.hpp"

namespace ws::detail {

/// Whether `field` can be written as a header line as is: its name is a
/// token and its value holds no CR, LF or other control byte.
bool is_valid_field(const HeaderField& field) noexcept;

/// Appends "name: value\r\n". The caller has checked both.
void append_field(std::string& out, std::string_view name, std::string_view value);

/// The reason phrase of common statuses; empty for the others (RFC 9112 4
/// allows an empty reason).
std::string_view reason_phrase(int status) noexcept;

/// A complete response: status line, `fields`, Content-Length, then
/// Content-Type: text/plain; charset=utf-8 and Connection: close unless
/// `fields` has them, the empty line and `body`. Fields are not checked.
std::string write_response(int status, std::span<const HeaderField> fields, std::string_view body);

}  // namespace ws::detail
