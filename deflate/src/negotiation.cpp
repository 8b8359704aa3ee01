// permessage-deflate negotiation in both roles (RFC 7692 5, 7.1).
#include <algorithm>
#include <string>

#include "ws/base/error.hpp"
#include "ws/deflate/deflate.hpp"

namespace ws::deflate {
namespace {

constexpr int min_window_bits = 8;
constexpr int max_window_bits = 15;
// zlib refuses a raw deflate stream with an 8-bit window.
constexpr int min_compressor_window_bits = 9;

// RFC 7692 7.1.2.1: 1*DIGIT, 8..15, no leading zero.
std::optional<int> parse_window_bits(const std::string& text) {
  if (text.empty() || text.size() > 2 || text.front() == '0') return std::nullopt;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < min_window_bits || value > max_window_bits) return std::nullopt;
  return value;
}

Options clamped(Options options) {
  options.max_window_bits =
      std::clamp(options.max_window_bits, min_compressor_window_bits, max_window_bits);
  options.mem_level = std::clamp(options.mem_level, 1, 9);
  options.level = std::clamp(options.level, 0, 9);
  if (options.peer_max_window_bits != 0) {
    options.peer_max_window_bits =
        std::clamp(options.peer_max_window_bits, min_window_bits, max_window_bits);
  }
  return options;
}

void add(ExtensionElement& element, std::string name, std::optional<int> value = std::nullopt) {
  ExtensionParameter parameter{std::move(name), std::nullopt};
  if (value) parameter.value = std::to_string(*value);
  element.parameters.push_back(std::move(parameter));
}

class DeflateExtension final : public Extension {
 public:
  explicit DeflateExtension(const Options& options) : options_(clamped(options)) {}

  std::string_view name() const noexcept override { return extension_name; }

  // The preferred offer carries every wish; when it asks something of the
  // server, a plain fallback follows, so a server that refuses those wishes
  // can still agree (RFC 7692 5: the server picks one offer).
  std::vector<ExtensionElement> client_offers() const override {
    std::vector<ExtensionElement> offers;
    offers.push_back(offer(true));
    const bool asks_server =
        options_.peer_no_context_takeover || options_.peer_max_window_bits != 0;
    if (asks_server) offers.push_back(offer(false));
    return offers;
  }

  Result<std::unique_ptr<ExtensionSession>> client_accept(
      const ExtensionElement& response) const override {
    Result<ElementParameters> parsed = parse_parameters(response, /*is_response=*/true);
    if (!parsed) return parsed.error();
    const ElementParameters& p = *parsed;
    // The response must fit one of the offers (the server does not say which).
    const std::vector<ExtensionElement> offers = client_offers();
    const bool fits = std::any_of(offers.begin(), offers.end(), [&](const ExtensionElement& o) {
      const ElementParameters offered = *parse_parameters(o, false);
      // 7.1.1.1: a server accepts server_no_context_takeover by echoing it.
      if (offered.server_no_context_takeover && !p.server_no_context_takeover) return false;
      // 7.1.2.1: server_max_window_bits, once offered, is echoed with the
      // same or a smaller value.
      if (offered.server_max_window_bits &&
          (!p.server_max_window_bits ||
           *p.server_max_window_bits > *offered.server_max_window_bits)) {
        return false;
      }
      // 7.1.2.2: client_max_window_bits only when offered, and not above
      // the offered value.
      if (p.client_max_window_bits) {
        if (!offered.client_max_window_bits) return false;
        if (*offered.client_max_window_bits != 0 &&
            *p.client_max_window_bits > *offered.client_max_window_bits) {
          return false;
        }
      }
      return true;
    });
    if (!fits) return errc::invalid_extension_response;
    // This side cannot compress with an 8-bit window (zlib).
    if (p.client_max_window_bits && *p.client_max_window_bits < min_compressor_window_bits) {
      return errc::invalid_extension_response;
    }
    Parameters agreed;
    agreed.server_no_context_takeover = p.server_no_context_takeover;
    agreed.client_no_context_takeover = p.client_no_context_takeover;
    agreed.server_max_window_bits = p.server_max_window_bits.value_or(max_window_bits);
    agreed.client_max_window_bits = p.client_max_window_bits.value_or(max_window_bits);
    return make_session(Role::client, agreed, options_);
  }

  std::optional<ExtensionAgreement> server_accept(
      std::span<const ExtensionElement> offers) const override {
    for (const ExtensionElement& offer : offers) {
      // RFC 7692 5: an offer with an unknown, repeated or invalid parameter
      // is declined; the next one is tried.
      Result<ElementParameters> parsed = parse_parameters(offer, /*is_response=*/false);
      if (!parsed) continue;
      const ElementParameters& p = *parsed;
      Parameters agreed;
      // 7.1.2.1: compress with at most the window the client allows; zlib
      // cannot do 8, so such an offer is declined.
      agreed.server_max_window_bits = options_.max_window_bits;
      if (p.server_max_window_bits) {
        if (*p.server_max_window_bits < min_compressor_window_bits) continue;
        agreed.server_max_window_bits =
            std::min(agreed.server_max_window_bits, *p.server_max_window_bits);
      }
      agreed.server_no_context_takeover =
          p.server_no_context_takeover || options_.no_context_takeover;
      agreed.client_no_context_takeover =
          p.client_no_context_takeover || options_.peer_no_context_takeover;
      // 7.1.2.2: limit the client's window only when it said it can be limited.
      std::optional<int> client_bits;
      if (p.client_max_window_bits && options_.peer_max_window_bits != 0) {
        client_bits = options_.peer_max_window_bits;
        if (*p.client_max_window_bits != 0) {
          client_bits = std::min(*client_bits, *p.client_max_window_bits);
        }
      }
      agreed.client_max_window_bits = client_bits.value_or(max_window_bits);

      ExtensionAgreement agreement;
      agreement.response.name = std::string(extension_name);
      if (agreed.server_no_context_takeover) add(agreement.response, "server_no_context_takeover");
      if (agreed.client_no_context_takeover) add(agreement.response, "client_no_context_takeover");
      if (p.server_max_window_bits) {
        add(agreement.response, "server_max_window_bits", agreed.server_max_window_bits);
      }
      if (client_bits) add(agreement.response, "client_max_window_bits", *client_bits);
      agreement.session = make_session(Role::server, agreed, options_);
      return agreement;
    }
    return std::nullopt;
  }

 private:
  ExtensionElement offer(bool with_server_wishes) const {
    ExtensionElement element;
    element.name = std::string(extension_name);
    if (options_.no_context_takeover) add(element, "client_no_context_takeover");
    if (with_server_wishes && options_.peer_no_context_takeover) {
      add(element, "server_no_context_takeover");
    }
    if (with_server_wishes && options_.peer_max_window_bits != 0) {
      add(element, "server_max_window_bits", options_.peer_max_window_bits);
    }
    // The server may then limit this side's window (not below 9, see above).
    if (options_.max_window_bits < max_window_bits) {
      add(element, "client_max_window_bits", options_.max_window_bits);
    } else {
      add(element, "client_max_window_bits");
    }
    return element;
  }

  Options options_;
};

}  // namespace

Result<ElementParameters> parse_parameters(const ExtensionElement& element, bool is_response) {
  ElementParameters out;
  bool seen[4] = {false, false, false, false};
  for (const ExtensionParameter& parameter : element.parameters) {
    const std::string& name = parameter.name;
    int index = -1;
    if (name == "server_no_context_takeover") index = 0;
    if (name == "client_no_context_takeover") index = 1;
    if (name == "server_max_window_bits") index = 2;
    if (name == "client_max_window_bits") index = 3;
    // RFC 7692 5: unknown and repeated parameters are errors.
    if (index < 0 || seen[index]) return errc::invalid_extension_response;
    seen[index] = true;
    switch (index) {
      case 0:
      case 1:
        // 7.1.1.1, 7.1.1.2: these have no value.
        if (parameter.value) return errc::invalid_extension_response;
        (index == 0 ? out.server_no_context_takeover : out.client_no_context_takeover) = true;
        break;
      case 2: {
        // 7.1.2.1: always with a value.
        if (!parameter.value) return errc::invalid_extension_response;
        const std::optional<int> bits = parse_window_bits(*parameter.value);
        if (!bits) return errc::invalid_extension_response;
        out.server_max_window_bits = bits;
        break;
      }
      default: {
        // 7.1.2.2: without a value only in an offer.
        if (!parameter.value) {
          if (is_response) return errc::invalid_extension_response;
          out.client_max_window_bits = 0;
          break;
        }
        const std::optional<int> bits = parse_window_bits(*parameter.value);
        if (!bits) return errc::invalid_extension_response;
        out.client_max_window_bits = bits;
        break;
      }
    }
  }
  return out;
}

std::shared_ptr<const Extension> make_extension(const Options& options) {
  return std::make_shared<const DeflateExtension>(options);
}

}  // namespace ws::deflate
