// LoopDriver on an EpollLoop (ws::posix::EpollWatch for descriptors and timers).
#pragma once

#include <memory>

#include "loop_driver.hpp"

namespace ws::posix {
class EpollLoop;
}

namespace ws::redis::detail {

std::unique_ptr<LoopDriver> make_epoll_driver(posix::EpollLoop& loop);

}  // namespace ws::redis::detail
