// Character classes and small text helpers of HTTP/1.1 (RFC 9110 5.5, 5.6),
// shared by the handshake sources. Internal: not installed.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace ws::detail {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RFC 9110 5.6.2: tchar.
constexpr bool is_tchar(char c) noexcept {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

constexpr bool is_vchar(char c) noexcept { return c >= '\x21' && c <= '\x7E'; }

// RFC 9110 5.5 field-value characters (also the reason-phrase of RFC 9112
// 4): VCHAR, SP, HTAB and obs-text. No CR, LF, NUL or other control byte.
constexpr bool is_field_char(char c) noexcept {
  return is_vchar(c) || c == ' ' || c == '\t' || static_cast<unsigned char>(c) >= 0x80;
}

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

inline bool is_token(std::string_view text) noexcept {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

inline bool is_field_value(std::string_view text) noexcept {
  return std::all_of(text.begin(), text.end(), is_field_char);
}

inline std::string_view trim_ows(std::string_view text) noexcept {
  while (!text.empty() && is_ows(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ows(text.back())) text.remove_suffix(1);
  return text;
}

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

}  // namespace ws::detail
