// A client and a server Connection joined in memory through the real
// opening handshake, for tests of what both ends agree on (extensions).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "support/frames.hpp"
#include "ws/connection.hpp"

namespace ws::test {

struct ConnectionPair {
  Connection client;
  Connection server;
  std::vector<OwnedEvent> client_events;
  std::vector<OwnedEvent> server_events;
  AcceptOptions accept_options;  // used when the server's UpgradeRequested arrives
};

/// A client for ws://example.com/chat and a server, neither run yet.
ConnectionPair make_pair(const Config& client_config, const Config& server_config,
                         const ClientHandshakeOptions& options = {});

/// Moves output both ways until neither side has any, collecting events
/// (the server accepts the upgrade with pair.accept_options).
void pump(ConnectionPair& pair);

/// The server's 101 answer to the request `request` (the client's first
/// output), with `extensions` as Sec-WebSocket-Extensions when not empty.
std::string switching_response(std::string_view request, std::string_view extensions);

}  // namespace ws::test
