// ws-demo --backplane redis://HOST:PORT: several ws-demo processes share
// their channels through Redis (ws::redis). Without the flag a node stays
// single and needs nothing else.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ws/base/bytes.hpp"
#include "ws/event.hpp"

namespace asio {
class io_context;
}
namespace ws::posix {
class EpollLoop;
}
namespace ws::channels {
class Registry;
}

namespace ws::examples {

/// Takes "--backplane URL" at args[index] (see parse_common_option for the
/// contract). The URL is checked here and kept for join_backplane.
bool parse_backplane_option(const std::vector<std::string_view>& args, std::size_t& index,
                            bool& used, std::string& error);

/// Keeps the backplane alive; empty without --backplane. Destroy it before
/// the registry, once the loop stopped (or from any thread for the threads
/// mode).
using DemoBackplane = std::shared_ptr<void>;

/// Routes `registry` through the backplane given with --backplane, on the
/// loop the server runs (epoll or Asio) or on a thread of its own (threads
/// mode). Returns false after printing why it cannot.
bool join_backplane(posix::EpollLoop& loop, channels::Registry& registry, DemoBackplane& out);
bool join_backplane(::asio::io_context& io, channels::Registry& registry, DemoBackplane& out);
bool join_backplane(channels::Registry& registry, DemoBackplane& out);

/// Publishes what a member sent; when it cannot reach the backplane the
/// sender is told with a text message ("ws-demo: not delivered: ...").
void publish_from_member(channels::Registry& registry, std::string_view channel, MessageKind kind,
                         ByteView payload,
                         const std::function<void(std::string_view notice)>& tell_sender);

}  // namespace ws::examples
