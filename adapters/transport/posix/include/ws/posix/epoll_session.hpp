// The epoll adapter's session and handler are the transport layer's own
// (ws/driver/session.hpp, ws/driver/handler.hpp): the same Session contract
// and Handler shape on every transport. These names remain for code written
// against the epoll adapter.
#pragma once

#include "ws/driver/handler.hpp"
#include "ws/driver/session.hpp"

namespace ws::posix {

using ws::SessionState;
using EpollSession = ws::Session;
using EpollSessionPtr = ws::SessionPtr;
using EpollHandler = ws::Handler;

}  // namespace ws::posix
