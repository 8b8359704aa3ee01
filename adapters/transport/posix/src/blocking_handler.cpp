#include <utility>

#include "ws/posix/blocking.hpp"

namespace ws::posix {

UpgradeDecision BlockingHandler::on_upgrade(const UpgradeRequest& /*request*/,
                                            const AcceptOptions& defaults) {
  return UpgradeDecision::accept_with(defaults);
}

void BlockingHandler::on_ping(const BlockingSessionPtr& /*session*/, const Ping& /*ping*/) {}

void BlockingHandler::on_pong(const BlockingSessionPtr& /*session*/, const Pong& /*pong*/) {}

UpgradeDecision BlockingCallbacks::on_upgrade(const UpgradeRequest& request,
                                              const AcceptOptions& defaults) {
  return upgrade ? upgrade(request, defaults) : UpgradeDecision::accept_with(defaults);
}

void BlockingCallbacks::on_open(const BlockingSessionPtr& session) {
  if (open) open(session);
}

void BlockingCallbacks::on_message(const BlockingSessionPtr& session, const Message& received) {
  if (message) message(session, received);
}

void BlockingCallbacks::on_close(const BlockingSessionPtr& session, const Closed& closed) {
  if (close) close(session, closed);
}

void BlockingCallbacks::on_ping(const BlockingSessionPtr& session, const Ping& received) {
  if (ping) ping(session, received);
}

void BlockingCallbacks::on_pong(const BlockingSessionPtr& session, const Pong& received) {
  if (pong) pong(session, received);
}

HttpAnswer BlockingHandler::on_http(const HttpHead& /*head*/) {
  return HttpAnswer{404, "not found\n", {}};
}

void BlockingHandler::on_rejected(const BlockingSessionPtr& /*session*/,
                                  const Rejected& /*rejected*/) {}

void BlockingCallbacks::on_rejected(const BlockingSessionPtr& session, const Rejected& answer) {
  if (rejected) rejected(session, answer);
}

}  // namespace ws::posix
