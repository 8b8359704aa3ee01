// IP literals, parsed strictly: for choosing the SOCKS5 address type and
// for comparing no_proxy entries as addresses.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ws::proxy::detail {

/// "a.b.c.d", four decimal numbers 0..255 without leading zeros (so that
/// "010" is not taken for octal by one side and decimal by another).
std::optional<std::array<std::uint8_t, 4>> parse_ipv4(std::string_view text) noexcept;

/// RFC 4291 2.2 text forms: eight groups of 1-4 hex digits, "::" once for a
/// run of zero groups, an IPv4 address as the last 32 bits. No brackets and
/// no zone id.
std::optional<std::array<std::uint8_t, 16>> parse_ipv6(std::string_view text) noexcept;

/// ASCII lower case of `text`.
std::string to_lower(std::string_view text);

/// A host name or IPv4 address as the URLs here allow it: non-empty,
/// letters, digits and "-._~".
bool is_reg_name(std::string_view text) noexcept;

}  // namespace ws::proxy::detail
