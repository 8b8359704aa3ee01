#include "ws/proxy/settings.hpp"

#include <charconv>
#include <cstdlib>
#include <utility>

#include "address.hpp"
#include "ws/handshake/http_head.hpp"
#include "ws/proxy/error.hpp"

namespace ws::proxy {
namespace {

using detail::to_lower;

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes user information (RFC 3986 2.1); std::nullopt for a '%'
// not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string decoded;
  decoded.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_digit(text[i + 1]);
    const int low = hex_digit(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    decoded.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return decoded;
}

std::string percent_encode_userinfo(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string encoded;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      encoded.push_back(c);
    } else {
      encoded.push_back('%');
      encoded.push_back(hex[byte >> 4]);
      encoded.push_back(hex[byte & 0xF]);
    }
  }
  return encoded;
}

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string_view without_trailing_dot(std::string_view name) noexcept {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

// An IP address of either family as 16 bytes (IPv4 mapped, RFC 4291
// 2.5.5.2), so entries and hosts compare whatever form they were written in.
std::optional<std::array<std::uint8_t, 16>> parse_ip(std::string_view text) noexcept {
  if (const auto v4 = detail::parse_ipv4(text)) {
    std::array<std::uint8_t, 16> mapped{};
    mapped[10] = mapped[11] = 0xFF;
    for (std::size_t i = 0; i < 4; ++i) mapped[12 + i] = (*v4)[i];
    return mapped;
  }
  return detail::parse_ipv6(text);
}

// One no_proxy entry against the host.
bool entry_matches(std::string_view entry, std::string_view host) {
  if (entry == "*") return true;
  // The address or name, without a port.
  std::string_view name = entry;
  if (!name.empty() && name.front() == '[') {
    const std::size_t close = name.find(']');
    if (close == std::string_view::npos) return false;
    name = name.substr(1, close - 1);
  } else if (!detail::parse_ipv6(name)) {
    // (An unbracketed IPv6 entry has colons of its own and no port.)
    name = name.substr(0, name.find(':'));
  }
  if (const auto address = parse_ip(name)) {
    const auto host_address = parse_ip(host);
    return host_address && *host_address == *address;
  }
  if (name.substr(0, 2) == "*.") name.remove_prefix(1);
  if (!name.empty() && name.front() == '.') name.remove_prefix(1);
  name = without_trailing_dot(name);
  if (name.empty()) return false;
  const std::string wanted = to_lower(name);
  const std::string have = to_lower(without_trailing_dot(host));
  if (have == wanted) return true;
  return have.size() > wanted.size() && have.ends_with(wanted) &&
         have[have.size() - wanted.size() - 1] == '.';
}

struct Found {
  std::string name;
  std::string value;
};

// The first of `names` (lower, then upper case of each) that is set to a
// non-blank value.
std::optional<Found> lookup(const Environment& env, std::initializer_list<std::string_view> names) {
  for (const std::string_view lower : names) {
    std::string upper(lower);
    for (char& c : upper) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    for (const std::string& name : {std::string(lower), upper}) {
      if (auto value = env(name); value && !trim(*value).empty()) {
        return Found{name, std::string(trim(*value))};
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view scheme_name(ProxyKind kind) noexcept {
  switch (kind) {
    case ProxyKind::http:
      return "http";
    case ProxyKind::socks5:
      return "socks5";
    case ProxyKind::socks5h:
      return "socks5h";
  }
  return "http";
}

Result<ProxySettings> parse_proxy_url(std::string_view url) {
  for (const char c : url) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7F) return make_error_code(errc::invalid_proxy_url);
  }
  ProxySettings settings;
  std::string_view rest = url;
  if (const std::size_t colon_slashes = url.find("://"); colon_slashes != std::string_view::npos) {
    const std::string scheme = to_lower(url.substr(0, colon_slashes));
    if (scheme == "http") {
      settings.kind = ProxyKind::http;
    } else if (scheme == "socks5") {
      settings.kind = ProxyKind::socks5;
    } else if (scheme == "socks5h") {
      settings.kind = ProxyKind::socks5h;
    } else {
      return make_error_code(errc::unsupported_proxy_scheme);
    }
    rest = url.substr(colon_slashes + 3);
  }
  // The authority ends at the first '/', '?' or '#'; only a lone "/" may
  // follow (a proxy has no path).
  const std::size_t authority_end = rest.find_first_of("/?#");
  if (authority_end != std::string_view::npos && rest.substr(authority_end) != "/") {
    return make_error_code(errc::invalid_proxy_url);
  }
  std::string_view authority = rest.substr(0, authority_end);
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon));
    auto password = colon == std::string_view::npos ? std::optional<std::string>(std::string())
                                                    : percent_decode(userinfo.substr(colon + 1));
    if (!user || !password) return make_error_code(errc::invalid_proxy_url);
    settings.username = std::move(*user);
    settings.password = std::move(*password);
  }
  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return make_error_code(errc::invalid_proxy_url);
    host = authority.substr(1, close - 1);
    if (!detail::parse_ipv6(host)) return make_error_code(errc::invalid_proxy_url);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return make_error_code(errc::invalid_proxy_url);
      port = after.substr(1);
      if (port.empty()) return make_error_code(errc::invalid_proxy_url);
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return make_error_code(errc::invalid_proxy_url);
    }
    if (!detail::is_reg_name(host)) return make_error_code(errc::invalid_proxy_url);
  }
  settings.host = to_lower(host);
  if (port.empty()) {
    settings.port =
        settings.kind == ProxyKind::http ? default_http_proxy_port : default_socks_proxy_port;
  } else {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535 ||
        port.front() == '+') {
      return make_error_code(errc::invalid_proxy_url);
    }
    settings.port = static_cast<std::uint16_t>(value);
  }
  return settings;
}

std::string display_url(const ProxySettings& settings) {
  std::string url(scheme_name(settings.kind));
  url += "://";
  if (settings.username) {
    url += percent_encode_userinfo(*settings.username);
    url += '@';
  }
  const bool ipv6 = settings.host.find(':') != std::string::npos;
  if (ipv6) url += '[';
  url += settings.host;
  if (ipv6) url += ']';
  url += ':';
  url += std::to_string(settings.port);
  return url;
}

Environment process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const std::string key(name);
    const char* value = std::getenv(key.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

bool no_proxy_matches(std::string_view list, std::string_view host) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view entry = trim(list.substr(0, comma));
    if (!entry.empty() && entry_matches(entry, host)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

ProxyLookup proxy_for(const WsUrl& url, const Environment& env) {
  ProxyLookup result;
  const auto found = url.secure ? lookup(env, {"https_proxy", "all_proxy"})
                                : lookup(env, {"http_proxy", "all_proxy"});
  if (!found) return result;
  if (const auto exempt = lookup(env, {"no_proxy"});
      exempt && no_proxy_matches(exempt->value, url.host)) {
    result.variable = exempt->name;
    return result;
  }
  result.variable = found->name;
  auto settings = parse_proxy_url(found->value);
  if (!settings) {
    result.error = settings.error();
    return result;
  }
  result.proxy = std::move(*settings);
  return result;
}

}  // namespace ws::proxy
