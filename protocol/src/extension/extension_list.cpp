// Sec-WebSocket-Extensions parsing and writing (RFC 6455 9.1).
#include "handshake/http_syntax.hpp"
#include "ws/base/error.hpp"
#include "ws/extension/extension.hpp"
#include "ws/handshake/http_head.hpp"

namespace ws {
namespace {

// Splits `text` at `separator` outside quoted-strings.
class SplitOutsideQuotes {
 public:
  SplitOutsideQuotes(std::string_view text, char separator) noexcept
      : rest_(text), separator_(separator) {}
  std::optional<std::string_view> next() noexcept {
    if (done_) return std::nullopt;
    bool quoted = false;
    for (std::size_t i = 0; i < rest_.size(); ++i) {
      const char c = rest_[i];
      if (quoted && c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && c == separator_) {
        const std::string_view piece = rest_.substr(0, i);
        rest_.remove_prefix(i + 1);
        return piece;
      }
    }
    done_ = true;
    return rest_;
  }

 private:
  std::string_view rest_;
  char separator_;
  bool done_ = false;
};

// A quoted-string's content with its escapes removed; nullopt when malformed.
std::optional<std::string> unquote(std::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return std::nullopt;
  std::string out;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (i + 2 >= text.size()) return std::nullopt;
      c = text[++i];
    } else if (c == '"') {
      return std::nullopt;
    }
    out.push_back(c);
  }
  return out;
}

std::optional<ExtensionParameter> parse_parameter(std::string_view text) {
  text = detail::trim_ows(text);
  const std::size_t equals = text.find('=');
  ExtensionParameter parameter;
  const std::string_view name = detail::trim_ows(text.substr(0, equals));
  if (!detail::is_token(name)) return std::nullopt;
  parameter.name = detail::to_lower(name);
  if (equals == std::string_view::npos) return parameter;
  const std::string_view value = detail::trim_ows(text.substr(equals + 1));
  if (!value.empty() && value.front() == '"') {
    std::optional<std::string> unquoted = unquote(value);
    // RFC 6455 9.1: a quoted value must still be a token once unquoted.
    if (!unquoted || !detail::is_token(*unquoted)) return std::nullopt;
    parameter.value = std::move(*unquoted);
  } else {
    if (!detail::is_token(value)) return std::nullopt;
    parameter.value = std::string(value);
  }
  return parameter;
}

}  // namespace

Result<std::vector<ExtensionElement>> parse_extension_list(std::span<const std::string> values) {
  std::vector<ExtensionElement> elements;
  for (const std::string& value : values) {
    HttpListReader reader(value);
    while (const std::optional<std::string_view> text = reader.next()) {
      SplitOutsideQuotes parts(*text, ';');
      const std::string_view name = detail::trim_ows(*parts.next());
      if (!detail::is_token(name)) return errc::malformed_header;
      ExtensionElement element;
      element.name = detail::to_lower(name);
      while (const std::optional<std::string_view> part = parts.next()) {
        std::optional<ExtensionParameter> parameter = parse_parameter(*part);
        if (!parameter) return errc::malformed_header;
        element.parameters.push_back(std::move(*parameter));
      }
      elements.push_back(std::move(element));
    }
  }
  return elements;
}

std::string format_extension_element(const ExtensionElement& element) {
  std::string out = element.name;
  for (const ExtensionParameter& parameter : element.parameters) {
    out.append("; ");
    out.append(parameter.name);
    if (parameter.value) {
      out.push_back('=');
      out.append(*parameter.value);
    }
  }
  return out;
}

}  // namespace ws
