// The channel a demo WebSocket joins: /channel/<name>, the name
// percent-decoded, 1-64 bytes of letters, digits, '.', '_' and '-'.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ws::examples {

/// The channel named by a request target ("/channel/meeting?x=1" gives
/// "meeting"); nothing when the target is not /channel/<valid name>.
std::optional<std::string> channel_from_target(std::string_view target);

}  // namespace ws::examples
