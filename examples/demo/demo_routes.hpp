// What ws-demo does with each request, whatever the I/O mode: GET / is the
// page, /channel/<name> joins a channel, /echo echoes, the rest is refused.
//
// Channels are resumable (docs/resume.md): a client that offers the
// subprotocol ws.resume.v1 receives envelopes with positions and may come
// back with /channel/<name>?since=EPOCH-SEQ; other clients get the raw
// payloads as before.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ws/channels/history.hpp"
#include "ws/channels/registry.hpp"
#include "ws/driver/session.hpp"
#include "ws/handshake/http_head.hpp"
#include "ws/handshake/server_handshake.hpp"

namespace ws::examples {

struct DemoHttpAnswer {
  int status = 404;
  std::string body;
  std::vector<HeaderField> headers;
};

/// The answer to a plain HTTP request (not an upgrade).
DemoHttpAnswer answer_plain_http(std::string_view method, std::string_view target);

/// Where an upgrade goes.
struct DemoRoute {
  enum class Kind { channel, echo, refused } kind = Kind::refused;
  std::string channel;  // for Kind::channel
  /// For Kind::channel: ?since=EPOCH-SEQ (used by ws.resume.v1 clients only).
  std::optional<channels::Position> since;
  DemoHttpAnswer refusal;  // for Kind::refused: 400 before any upgrade
};
/// A `since` that is not EPOCH-SEQ is refused with 400 (a client that sent
/// a broken position would otherwise be silently treated as new).
DemoRoute route_upgrade(std::string_view target);

/// The demo's registry: every channel resumable, default history limits.
channels::RegistryOptions demo_registry_options();

/// `defaults` plus the subprotocol ws.resume.v1, chosen when offered.
AcceptOptions demo_accept_options(AcceptOptions defaults = {});

/// Joins `session` to the route's channel: resumable (from route.since)
/// when it agreed on ws.resume.v1, plain otherwise.
void join_channel(channels::Registry& registry, const DemoRoute& route,
                  const std::shared_ptr<Session>& session);

}  // namespace ws::examples
