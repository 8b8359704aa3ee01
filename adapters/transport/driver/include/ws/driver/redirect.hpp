// Whether a client follows the server's redirect of its opening handshake,
// and where to: a pure function of the current URL, the request options and
// the Rejected event, with no I/O. A transport (or ws::ClientSupervisor)
// asks it after a Rejected and connects to the answer.
//
// RFC 6455 4.1 lets a client follow a 3xx answer to its upgrade request;
// RFC 9110 15.4 defines them. The rules here:
//  - 301, 302, 303, 307 and 308 with a Location are followed. The upgrade is
//    a GET, so the method-changing difference of 301/302/303 (RFC 9110
//    15.4.2-15.4.4: POST may become GET) does not arise; all five repeat the
//    same request at the new URL. Other 3xx (300, 304, 305, 306) are not
//    redirects a client can follow without a choice or a cache.
//  - Location may be relative (RFC 9110 10.2.2): it is resolved against the
//    current URL by RFC 3986 5.2 (scheme-relative "//host/p", absolute path
//    "/p", relative path "p", "../p", query "?q"). Its fragment is dropped:
//    a WebSocket URL has none (RFC 6455 3).
//  - ws:// and wss:// are taken as they are; http:// maps to ws:// and
//    https:// to wss://, as the WHATWG WebSocket constructor maps them, since
//    an HTTP server or load balancer that redirects writes the URL it knows.
//    Any other scheme is refused (unsupported_scheme).
//  - Never from wss:// to ws:// (insecure_redirect): what TLS protected
//    (the request's credentials, the messages) would go out in clear.
//  - When the origin (scheme, host, port: RFC 6454) changes, Authorization
//    and Cookie request fields are dropped: they were meant for the first
//    server, and a redirect must not hand them to another.
//  - At most `max_redirects` in a row (default 5); 0 follows none, so the
//    Rejected (and the refusal's status) is the end, as without this
//    function. The limit also ends a loop (A -> B -> A ...): a loop never
//    repeats more than the limit allows, without keeping a list of URLs.
//
// When not following (not a redirect, redirects off, or refused), the
// Rejected event is the application's, with the whole response.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "ws/base/result.hpp"
#include "ws/event.hpp"
#include "ws/handshake/client_handshake.hpp"

namespace ws {

/// Why a redirect was refused. Values are stable; append only. Category
/// "ws.redirect".
enum class redirect_errc : int {
  // A 301/302/303/307/308 without a Location field, or with more than one.
  missing_location = 1,
  // The Location (resolved) is not a URL a client can connect to: userinfo,
  // an empty host, a bad port, spaces or bytes that must be percent-encoded.
  invalid_location,
  // The Location's scheme is not ws, wss, http or https.
  unsupported_scheme,
  // From wss:// (TLS) to ws:// (clear text).
  insecure_redirect,
  // More redirects in a row than RedirectSettings::max_redirects.
  too_many_redirects,
};

const std::error_category& redirect_category() noexcept;

inline std::error_code make_error_code(redirect_errc error) noexcept {
  return {static_cast<int>(error), redirect_category()};
}

struct RedirectSettings {
  /// Redirects followed in a row before giving up with too_many_redirects.
  /// 0: never follow (a redirect is an ordinary refusal).
  std::uint32_t max_redirects = 5;
};

enum class RedirectVerdict : std::uint8_t {
  not_followed,  // not a redirect status, or max_redirects is 0: an ordinary refusal
  follow,        // connect to `url` with `handshake`
  refused,       // a redirect that must not be followed; `error` says why
};

struct RedirectDecision {
  RedirectVerdict verdict = RedirectVerdict::not_followed;
  /// follow: the next URL, normalized ("wss://host[:port]/path?query").
  std::string url{};
  /// follow: the request options for it (Authorization and Cookie gone when
  /// the origin changed; the rest as given).
  ClientHandshakeOptions handshake{};
  /// follow: whether the origin changed (and the fields were dropped).
  bool cross_origin = false;
  /// follow: the redirect is permanent (301, 308: RFC 9110 15.4.2, 15.4.9):
  /// later connections may start at `url`. 302, 303, 307 are not: a client
  /// that reconnects goes back to the URL it was given.
  bool permanent = false;
  /// refused: why (redirect_errc).
  std::error_code error{};
};

/// Whether `status` is one this function may follow (301, 302, 303, 307, 308).
bool is_redirect_status(int status) noexcept;

/// Resolves `location` (a Location field value, absolute or relative)
/// against `base` (a ws:// or wss:// URL) and returns the WebSocket URL it
/// names, normalized. Errors: invalid_location (also when `base` is not a
/// WebSocket URL), unsupported_scheme.
Result<std::string> resolve_redirect_location(std::string_view base, std::string_view location);

/// The decision for a Rejected answer to a request for `current_url` made
/// with `handshake`, after `redirects_so_far` redirects followed in a row.
/// Pure: safe on any thread.
RedirectDecision decide_redirect(std::string_view current_url,
                                 const ClientHandshakeOptions& handshake, const Rejected& rejected,
                                 std::uint32_t redirects_so_far,
                                 const RedirectSettings& settings = {});

}  // namespace ws

namespace std {
template <>
struct is_error_code_enum<ws::redirect_errc> : true_type {};
}  // namespace std
