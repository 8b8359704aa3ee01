#include "address.hpp"

#include <cstddef>

namespace ws::proxy::detail {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::array<std::uint8_t, 4>> parse_ipv4(std::string_view text) noexcept {
  std::array<std::uint8_t, 4> address{};
  std::size_t at = 0;
  for (std::size_t part = 0; part < 4; ++part) {
    if (part > 0) {
      if (at >= text.size() || text[at] != '.') return std::nullopt;
      ++at;
    }
    const std::size_t begin = at;
    unsigned value = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9' && at - begin < 3) {
      value = value * 10 + static_cast<unsigned>(text[at] - '0');
      ++at;
    }
    const std::size_t digits = at - begin;
    if (digits == 0 || value > 255 || (digits > 1 && text[begin] == '0')) return std::nullopt;
    address[part] = static_cast<std::uint8_t>(value);
  }
  if (at != text.size()) return std::nullopt;
  return address;
}

std::optional<std::array<std::uint8_t, 16>> parse_ipv6(std::string_view text) noexcept {
  // Groups before and after "::", as 16-bit values; the gap is filled with
  // zeros once both sides are known.
  std::array<std::uint16_t, 8> head{};
  std::array<std::uint16_t, 8> tail{};
  std::size_t head_count = 0;
  std::size_t tail_count = 0;
  bool gap = false;
  std::size_t at = 0;
  if (text.substr(0, 2) == "::") {
    gap = true;
    at = 2;
  } else if (!text.empty() && text[0] == ':') {
    return std::nullopt;
  }
  while (at < text.size()) {
    const std::size_t groups = head_count + tail_count;
    // The last 32 bits as an IPv4 address ("::ffff:1.2.3.4").
    const std::size_t next_colon = text.find(':', at);
    const std::string_view piece = text.substr(at, next_colon - at);
    if (next_colon == std::string_view::npos && piece.find('.') != std::string_view::npos) {
      const auto v4 = parse_ipv4(piece);
      if (!v4 || groups > 6) return std::nullopt;
      auto& side = gap ? tail : head;
      auto& count = gap ? tail_count : head_count;
      side[count++] = static_cast<std::uint16_t>((*v4)[0] << 8 | (*v4)[1]);
      side[count++] = static_cast<std::uint16_t>((*v4)[2] << 8 | (*v4)[3]);
      at = text.size();
      break;
    }
    if (piece.empty() || piece.size() > 4 || groups >= 8) return std::nullopt;
    unsigned value = 0;
    for (const char c : piece) {
      const int digit = hex_value(c);
      if (digit < 0) return std::nullopt;
      value = value * 16 + static_cast<unsigned>(digit);
    }
    (gap ? tail[tail_count++] : head[head_count++]) = static_cast<std::uint16_t>(value);
    at += piece.size();
    if (at == text.size()) break;
    // A colon follows: "::" opens the gap (once), ':' separates groups.
    ++at;
    if (at < text.size() && text[at] == ':') {
      if (gap) return std::nullopt;
      gap = true;
      ++at;
    } else if (at == text.size()) {
      return std::nullopt;  // a trailing single ':'
    }
  }
  const std::size_t groups = head_count + tail_count;
  if (gap ? groups > 7 : groups != 8) return std::nullopt;
  std::array<std::uint16_t, 8> all{};
  for (std::size_t i = 0; i < head_count; ++i) all[i] = head[i];
  for (std::size_t i = 0; i < tail_count; ++i) all[8 - tail_count + i] = tail[i];
  std::array<std::uint8_t, 16> address{};
  for (std::size_t i = 0; i < 8; ++i) {
    address[2 * i] = static_cast<std::uint8_t>(all[i] >> 8);
    address[2 * i + 1] = static_cast<std::uint8_t>(all[i] & 0xFF);
  }
  return address;
}

std::string to_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

bool is_reg_name(std::string_view text) noexcept {
  if (text.empty()) return false;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';
    if (!ok) return false;
  }
  return true;
}

}  // namespace ws::proxy::detail
