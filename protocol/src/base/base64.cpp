#include "ws/base/base64.hpp"

#include <array>
#include <cstdint>

namespace ws {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::uint8_t kInvalid = 0xFF;

// Maps a character to its 6-bit value, or kInvalid ('=' included: padding is
// handled by position, not by the table).
constexpr std::array<std::uint8_t, 256> kDecodeTable = [] {
  std::array<std::uint8_t, 256> table{};
  table.fill(kInvalid);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}();

std::uint32_t sextet(char c) noexcept { return kDecodeTable[static_cast<unsigned char>(c)]; }

}  // namespace

std::string base64_encode(ByteView data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t group = (std::to_integer<std::uint32_t>(data[i]) << 16) |
                                (std::to_integer<std::uint32_t>(data[i + 1]) << 8) |
                                std::to_integer<std::uint32_t>(data[i + 2]);
    out.push_back(kAlphabet[(group >> 18) & 0x3F]);
    out.push_back(kAlphabet[(group >> 12) & 0x3F]);
    out.push_back(kAlphabet[(group >> 6) & 0x3F]);
    out.push_back(kAlphabet[group & 0x3F]);
  }
  // RFC 4648 4: a final group of one or two bytes is padded with '='.
  const std::size_t rest = data.size() - i;
  if (rest == 1) {
    const std::uint32_t group = std::to_integer<std::uint32_t>(data[i]) << 16;
    out.push_back(kAlphabet[(group >> 18) & 0x3F]);
    out.push_back(kAlphabet[(group >> 12) & 0x3F]);
    out.append("==");
  } else if (rest == 2) {
    const std::uint32_t group = (std::to_integer<std::uint32_t>(data[i]) << 16) |
                                (std::to_integer<std::uint32_t>(data[i + 1]) << 8);
    out.push_back(kAlphabet[(group >> 18) & 0x3F]);
    out.push_back(kAlphabet[(group >> 12) & 0x3F]);
    out.push_back(kAlphabet[(group >> 6) & 0x3F]);
    out.push_back('=');
  }
  return out;
}

std::optional<std::vector<std::byte>> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::vector<std::byte> out;
  if (text.empty()) return out;

  // Padding: "xx==" carries one byte, "xxx=" two; '=' nowhere else.
  std::size_t padding = 0;
  if (text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  out.reserve(text.size() / 4 * 3 - padding);

  const std::size_t full_end = text.size() - (padding == 0 ? 0 : 4);
  for (std::size_t i = 0; i < full_end; i += 4) {
    const std::uint32_t a = sextet(text[i]);
    const std::uint32_t b = sextet(text[i + 1]);
    const std::uint32_t c = sextet(text[i + 2]);
    const std::uint32_t d = sextet(text[i + 3]);
    if ((a | b | c | d) > 0x3F) return std::nullopt;  // kInvalid has the high bits set
    const std::uint32_t group = (a << 18) | (b << 12) | (c << 6) | d;
    out.push_back(static_cast<std::byte>(group >> 16));
    out.push_back(static_cast<std::byte>(group >> 8));
    out.push_back(static_cast<std::byte>(group));
  }
  if (padding == 0) return out;

  const std::string_view last = text.substr(full_end);
  const std::uint32_t a = sextet(last[0]);
  const std::uint32_t b = sextet(last[1]);
  if (a == kInvalid || b == kInvalid) return std::nullopt;
  if (padding == 2) {
    // RFC 4648 3.5: the 4 bits that "xx==" carries past the byte must be 0.
    if ((b & 0x0F) != 0) return std::nullopt;
    out.push_back(static_cast<std::byte>((a << 2) | (b >> 4)));
    return out;
  }
  const std::uint32_t c = sextet(last[2]);
  if (c == kInvalid || (c & 0x03) != 0) return std::nullopt;
  const std::uint32_t group = (a << 18) | (b << 12) | (c << 6);
  out.push_back(static_cast<std::byte>(group >> 16));
  out.push_back(static_cast<std::byte>(group >> 8));
  return out;
}

}  // namespace ws
