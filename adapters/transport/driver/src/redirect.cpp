#include "ws/driver/redirect.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "ws/handshake/http_head.hpp"

namespace ws {
namespace {

class RedirectCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ws.redirect"; }
  std::string message(int value) const override {
    switch (static_cast<redirect_errc>(value)) {
      case redirect_errc::missing_location:
        return "redirect without a single Location";
      case redirect_errc::invalid_location:
        return "redirect to a URL that cannot be connected to";
      case redirect_errc::unsupported_scheme:
        return "redirect to a scheme other than ws, wss, http or https";
      case redirect_errc::insecure_redirect:
        return "redirect from wss:// to ws:// refused";
      case redirect_errc::too_many_redirects:
        return "too many redirects";
    }
    return "unknown redirect error";
  }
};

std::string url_of(const WsUrl& url) {
  return std::string(url.secure ? "wss://" : "ws://") + url.host_header() + url.resource();
}

// RFC 3986 5.2.4: removes "." and ".." segments of an absolute path.
std::string remove_dot_segments(std::string_view input) {
  std::vector<std::string_view> out;
  const bool trailing_slash = input.ends_with("/") || input.ends_with("/.") ||
                              input.ends_with("/..") || input == "." || input == "..";
  std::size_t at = 0;
  while (at <= input.size()) {
    const std::size_t slash = std::min(input.find('/', at), input.size());
    const std::string_view segment = input.substr(at, slash - at);
    if (segment == "..") {
      if (!out.empty()) out.pop_back();
    } else if (segment != "." && !segment.empty()) {
      out.push_back(segment);
    }
    at = slash + 1;
  }
  std::string path;
  for (const std::string_view segment : out) {
    path.push_back('/');
    path.append(segment);
  }
  if (path.empty() || trailing_slash) path.push_back('/');
  return path;
}

// The scheme of an absolute reference (RFC 3986 3.1: ALPHA *( ALPHA /
// DIGIT / "+" / "-" / "." ) ":"), lower-cased; empty for a relative one.
std::string scheme_of(std::string_view reference) {
  const std::size_t colon = reference.find(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  const std::string_view scheme = reference.substr(0, colon);
  if (std::isalpha(static_cast<unsigned char>(scheme.front())) == 0) return {};
  std::string lower;
  for (const char c : scheme) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) == 0 && c != '+' && c != '-' && c != '.') return {};
    lower.push_back(static_cast<char>(std::tolower(u)));
  }
  return lower;
}

bool strips_on_new_origin(std::string_view name) {
  return ascii_iequals(name, "Authorization") || ascii_iequals(name, "Cookie");
}

}  // namespace

const std::error_category& redirect_category() noexcept {
  static const RedirectCategory category;
  return category;
}

bool is_redirect_status(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

Result<std::string> resolve_redirect_location(std::string_view base, std::string_view location) {
  const Result<WsUrl> current = parse_ws_url(base);
  if (!current) return make_error_code(redirect_errc::invalid_location);
  // Optional whitespace around a field value is not part of it (RFC 9110 5.5).
  while (!location.empty() && (location.front() == ' ' || location.front() == '\t')) {
    location.remove_prefix(1);
  }
  while (!location.empty() && (location.back() == ' ' || location.back() == '\t')) {
    location.remove_suffix(1);
  }
  // RFC 9110 10.2.2: the fragment of a Location applies to the target;
  // a WebSocket URL has none (RFC 6455 3), so it is dropped.
  location = location.substr(0, std::min(location.find('#'), location.size()));
  if (location.empty()) return make_error_code(redirect_errc::invalid_location);

  const std::string current_scheme = current->secure ? "wss" : "ws";
  std::string target;
  const std::string scheme = scheme_of(location);
  if (!scheme.empty()) {
    std::string_view rest = location.substr(scheme.size() + 1);
    if (scheme == "ws" || scheme == "http") {
      target = "ws:" + std::string(rest);
    } else if (scheme == "wss" || scheme == "https") {
      target = "wss:" + std::string(rest);
    } else {
      return make_error_code(redirect_errc::unsupported_scheme);
    }
    if (!rest.starts_with("//")) return make_error_code(redirect_errc::invalid_location);
  } else if (location.starts_with("//")) {
    target = current_scheme + ":" + std::string(location);  // network-path reference
  } else {
    // Same authority: an absolute path, a relative path or a query alone.
    const std::string authority = current->host_header();
    const std::size_t question = std::min(location.find('?'), location.size());
    const std::string_view path = location.substr(0, question);
    const std::string_view query = location.substr(question);  // with its '?', or empty
    std::string merged;
    if (path.empty()) {
      merged = current->path;  // "?q": the current path, a new query
    } else if (path.front() == '/') {
      merged = remove_dot_segments(path);
    } else {
      // RFC 3986 5.2.3: the base path up to its last '/', then the reference.
      const std::string& base_path = current->path;
      merged =
          remove_dot_segments(base_path.substr(0, base_path.rfind('/') + 1) + std::string(path));
    }
    target = current_scheme + "://" + authority + merged + std::string(query);
  }
  // Parsing checks what a connect needs (no userinfo, a host, a port in
  // range, nothing unencoded) and normalizes the host's case.
  Result<WsUrl> parsed = parse_ws_url(target);
  if (!parsed) return make_error_code(redirect_errc::invalid_location);
  parsed->path = remove_dot_segments(parsed->path);
  return url_of(*parsed);
}

RedirectDecision decide_redirect(std::string_view current_url,
                                 const ClientHandshakeOptions& handshake, const Rejected& rejected,
                                 std::uint32_t redirects_so_far, const RedirectSettings& settings) {
  RedirectDecision decision;
  if (!is_redirect_status(rejected.status) || settings.max_redirects == 0) return decision;
  const auto refuse = [&decision](redirect_errc error) {
    decision.verdict = RedirectVerdict::refused;
    decision.error = make_error_code(error);
    return decision;
  };
  if (redirects_so_far >= settings.max_redirects) return refuse(redirect_errc::too_many_redirects);

  // RFC 9110 10.2.2: Location is a single URI reference; two of them leave
  // the client no way to choose.
  std::string_view location;
  int locations = 0;
  for (const HttpHeader& header : rejected.headers) {
    if (ascii_iequals(header.name, "Location")) {
      location = header.value;
      ++locations;
    }
  }
  if (locations != 1) return refuse(redirect_errc::missing_location);

  Result<std::string> next = resolve_redirect_location(current_url, location);
  if (!next) {
    decision.verdict = RedirectVerdict::refused;
    decision.error = next.error();
    return decision;
  }
  const Result<WsUrl> from = parse_ws_url(current_url);
  const Result<WsUrl> to = parse_ws_url(*next);
  if (!from || !to) return refuse(redirect_errc::invalid_location);
  if (from->secure && !to->secure) return refuse(redirect_errc::insecure_redirect);

  decision.verdict = RedirectVerdict::follow;
  decision.url = std::move(*next);
  decision.handshake = handshake;
  decision.permanent = rejected.status == 301 || rejected.status == 308;
  decision.cross_origin =
      from->secure != to->secure || from->host != to->host || from->port != to->port;
  if (decision.cross_origin) {
    std::erase_if(decision.handshake.extra_headers,
                  [](const HeaderField& field) { return strips_on_new_origin(field.name); });
  }
  return decision;
}

}  // namespace ws
