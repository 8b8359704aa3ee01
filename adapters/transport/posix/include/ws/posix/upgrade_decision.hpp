// The answer types moved to the transport layer (ws/driver/handler.hpp),
// shared by every transport; these names remain for code written against
// the POSIX adapter.
#pragma once

#include "ws/driver/handler.hpp"

namespace ws::posix {
using ws::HttpAnswer;
using ws::UpgradeDecision;
}  // namespace ws::posix
