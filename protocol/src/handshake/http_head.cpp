#include "ws/handshake/http_head.hpp"

#include <limits>

#include "handshake/http_syntax.hpp"

namespace ws {
using detail::ascii_lower;
using detail::trim_ows;

bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> find_header(const HttpHead& head, std::string_view name) noexcept {
  for (const HttpHeader& header : head.headers) {
    if (ascii_iequals(header.name, name)) return header.value;
  }
  return std::nullopt;
}

std::size_t count_headers(const HttpHead& head, std::string_view name) noexcept {
  std::size_t count = 0;
  for (const HttpHeader& header : head.headers) {
    if (ascii_iequals(header.name, name)) ++count;
  }
  return count;
}

std::optional<std::string_view> HttpListReader::next() noexcept {
  while (!rest_.empty()) {
    // Find the comma that ends this element, stepping over quoted-strings
    // (RFC 9110 5.6.4) so that `a="x,y"` stays one element.
    std::size_t end = 0;
    bool quoted = false;
    for (; end < rest_.size(); ++end) {
      const char c = rest_[end];
      if (quoted) {
        if (c == '\\') {
          ++end;  // quoted-pair: skip the escaped character
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        break;
      }
    }
    if (end > rest_.size()) end = rest_.size();  // a trailing backslash
    const std::string_view element = trim_ows(rest_.substr(0, end));
    rest_.remove_prefix(end < rest_.size() ? end + 1 : end);
    // RFC 9110 5.6.1: a recipient ignores empty elements ("a, , b").
    if (!element.empty()) return element;
  }
  return std::nullopt;
}

bool list_has_token(std::string_view list, std::string_view token) noexcept {
  HttpListReader reader(list);
  while (const auto element = reader.next()) {
    if (ascii_iequals(*element, token)) return true;
  }
  return false;
}

bool has_token(const HttpHead& head, std::string_view name, std::string_view token) noexcept {
  for (const std::string_view value : header_values(head, name)) {
    if (list_has_token(value, token)) return true;
  }
  return false;
}

std::optional<std::uint64_t> content_length(const HttpHead& head) noexcept {
  std::optional<std::uint64_t> length;
  for (const std::string_view value : header_values(head, "content-length")) {
    // RFC 9110 8.6: a list of identical lengths ("42, 42") stands for one.
    HttpListReader reader(value);
    bool any = false;
    while (const auto element = reader.next()) {
      any = true;
      std::uint64_t number = 0;
      for (const char c : *element) {
        if (c < '0' || c > '9') return std::nullopt;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (number > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
        number = number * 10 + digit;
      }
      if (length && *length != number) return std::nullopt;
      length = number;
    }
    if (!any) return std::nullopt;
  }
  return length;
}

}  // namespace ws
