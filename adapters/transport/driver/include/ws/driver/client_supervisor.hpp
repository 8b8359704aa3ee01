// ClientSupervisor: the decisions of a client that follows redirects and
// reconnects, with no I/O, no clock and no thread. The transport's glue
// (ws::ResilientClient) tells it what happened to each connection, with the
// time; it answers with one step: "connect to this URL with these request
// options now", "wait D, then connect", or "give up, because R".
//
// It combines decide_redirect() (ws/driver/redirect.hpp) and ReconnectPolicy
// (ws/driver/reconnect_policy.hpp):
//  - A Rejected that decide_redirect() follows leads straight to a connect
//    to the new URL, without a wait and without counting as a reconnection
//    attempt; a refused redirect (downgrade, too many, no Location) gives
//    up with the redirect_errc. Redirects are counted per attempt: every
//    reconnection starts with a fresh count.
//  - A reconnection goes back to the URL the application gave, or to where
//    a chain of permanent redirects (301, 308) from it led; a temporary one
//    (302, 303, 307) is not remembered, nor a permanent one after it, which
//    spoke for the temporary URL only (RFC 9110 15.4).
//  - Any other ending goes to the ReconnectPolicy when reconnecting is on;
//    otherwise it gives up with reconnect_disabled (or the policy's reason
//    when the ending would not have been retried anyway).
//  - stop() ends it: the next ending (or a wait in progress) gives up with
//    closed_by_application.
//
// Thread safety: none. One supervisor per client, used on the thread that
// runs that client's connections.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

#include "ws/base/random_source.hpp"
#include "ws/config.hpp"
#include "ws/driver/reconnect_policy.hpp"
#include "ws/driver/redirect.hpp"
#include "ws/event.hpp"
#include "ws/handshake/client_handshake.hpp"

namespace ws {

/// The reconnect settings a supervising client starts from: the policy's
/// defaults plus 1001 from the peer. A server's 1001 (RFC 6455 7.4.1, "going
/// away", e.g. a server going down) is what ws's own servers send when they
/// shut down, and what a client that asked to reconnect wants to outlive;
/// a client that ends by itself uses ResilientClient::stop() (or closes
/// with 1000), which is never retried. Beware: an application that closes
/// its own session with 1001 without stop() gets the server's echo of 1001
/// as the peer's code, and reconnects. See docs/design.md.
ReconnectSettings supervisor_reconnect_defaults();

struct SupervisorSettings {
  /// Redirects of the opening handshake (default 5 in a row; 0: none).
  RedirectSettings redirects{};
  /// Whether an ended connection is followed by another one. Off: the
  /// supervisor only follows redirects.
  bool reconnect = false;
  ReconnectSettings reconnect_settings = supervisor_reconnect_defaults();
};

/// Where the next connection goes.
struct ConnectTarget {
  std::string url;
  ClientHandshakeOptions handshake;
};

enum class SupervisorAction : std::uint8_t {
  none,     // nothing to do now (a connection is in progress or open)
  connect,  // connect to `target` now
  wait,     // wait `delay`, then call on_wait_over()
  give_up,  // no more connections
};

struct SupervisorStep {
  SupervisorAction action = SupervisorAction::none;
  /// connect: where and with which request options; wait: where the
  /// connection after the wait goes.
  ConnectTarget target{};
  /// wait: how long.
  Duration delay{0};
  /// connect, wait: the reconnection attempt this belongs to, counted from 1
  /// since the last connection that counted as lasting (0: the first
  /// connection, or a redirect of it). give_up: attempts made.
  std::uint32_t attempt = 0;
  /// connect: this connect follows a redirect with this status.
  int redirect_status = 0;
  /// wait, give_up: how the last connection ended (http_status set when the
  /// server refused the upgrade).
  ConnectionEnd end{};
  /// give_up: why.
  GiveUpReason reason = GiveUpReason::none;
  /// give_up: the redirect_errc of a refused redirect, or the ending's error.
  std::error_code error{};
};

/// One line for a person: "closed with 1006: Connection refused", "closed
/// with 1001", "refused with HTTP 503".
std::string describe(const ConnectionEnd& end);
/// "normal close", "attempts exhausted", ...
std::string_view describe(GiveUpReason reason) noexcept;

class ClientSupervisor {
 public:
  /// `url` is checked by start(). An empty `random` means
  /// system_random_source().
  ClientSupervisor(std::string url, ClientHandshakeOptions handshake,
                   SupervisorSettings settings = {}, RandomSource random = {});

  /// The first step: connect to the URL. give_up with errc::invalid_url
  /// (reason error) when it is not a ws:// or wss:// URL.
  SupervisorStep start();

  /// The current connection was refused (Rejected event). Returns true when
  /// the supervisor will follow it as a redirect (the application need not
  /// see the refusal nor the end of that connection); the step comes with
  /// the Closed that follows (on_closed).
  bool on_rejected(const Rejected& rejected);
  /// The current connection opened (on_open) at `now`.
  void on_open(TimePoint now);
  /// The current connection ended (on_close) at `now`.
  SupervisorStep on_closed(TimePoint now, const Closed& closed);
  /// A connect could not start (the transport's connect() returned this
  /// error: a name that does not resolve, a refused socket) at `now`.
  SupervisorStep on_connect_failed(TimePoint now, std::error_code error);
  /// The wait of the last step is over: the connect step.
  SupervisorStep on_wait_over();
  /// The application wants no more connections. While waiting, returns the
  /// give_up step (the wait is void); otherwise returns none and the current
  /// connection's end gives up with closed_by_application.
  SupervisorStep stop();

  bool stopped() const noexcept { return stopped_; }
  bool finished() const noexcept { return state_ == State::done; }
  /// The URL of the current (or next) connection.
  const std::string& current_url() const noexcept { return current_.url; }
  /// The reconnection attempt of the current connection (0 for the first).
  std::uint32_t attempt() const noexcept { return attempt_; }
  const ReconnectPolicy& policy() const noexcept { return policy_; }

 private:
  enum class State : std::uint8_t { idle, connecting, open, waiting, done };

  SupervisorStep ended(TimePoint now, ConnectionEnd end);
  SupervisorStep give_up(GiveUpReason reason, ConnectionEnd end, std::error_code error);

  SupervisorSettings settings_;
  ReconnectPolicy policy_;
  ConnectTarget base_;     // where a reconnection goes
  ConnectTarget current_;  // where the current connection went
  State state_ = State::idle;
  std::uint32_t redirects_ = 0;  // followed since the last connect that was not a redirect
  bool chain_permanent_ = true;  // every redirect of this chain so far was 301 or 308
  std::uint32_t attempt_ = 0;
  std::optional<RedirectDecision> pending_redirect_;
  int rejected_status_ = 0;
  bool stopped_ = false;
};

}  // namespace ws
