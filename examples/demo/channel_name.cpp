#include "demo/channel_name.hpp"

namespace ws::examples {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool allowed(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

std::optional<std::string> channel_from_target(std::string_view target) {
  constexpr std::string_view prefix = "/channel/";
  const std::size_t query = target.find('?');
  if (query != std::string_view::npos) target = target.substr(0, query);
  if (target.substr(0, prefix.size()) != prefix) return std::nullopt;
  const std::string_view encoded = target.substr(prefix.size());
  std::string name;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c == '%') {
      if (i + 2 >= encoded.size()) return std::nullopt;  // "%" needs two hex digits
      const int high = hex_value(encoded[i + 1]);
      const int low = hex_value(encoded[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    if (!allowed(c)) return std::nullopt;
    name.push_back(c);
  }
  if (name.empty() || name.size() > 64) return std::nullopt;
  return name;
}

}  // namespace ws::examples
