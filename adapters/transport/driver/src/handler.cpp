#include "ws/driver/handler.hpp"

#include <utility>

namespace ws {

UpgradeDecision UpgradeDecision::accept_with(AcceptOptions options) {
  UpgradeDecision decision;
  decision.accept = true;
  decision.options = std::move(options);
  return decision;
}

UpgradeDecision UpgradeDecision::reject(int status, std::string body,
                                        std::vector<HeaderField> headers) {
  UpgradeDecision decision;
  decision.accept = false;
  decision.status = status;
  decision.body = std::move(body);
  decision.headers = std::move(headers);
  return decision;
}

}  // namespace ws
