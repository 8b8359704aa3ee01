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

UpgradeDecision HandlerAdapter::on_upgrade(const UpgradeRequest& request,
                                           const AcceptOptions& defaults) {
  return handler_.on_upgrade ? handler_.on_upgrade(request)
                             : UpgradeDecision::accept_with(defaults);
}

void HandlerAdapter::on_open(const BlockingSessionPtr& session) {
  if (handler_.on_open) handler_.on_open(session);
}

void HandlerAdapter::on_message(const BlockingSessionPtr& session, const Message& message) {
  if (handler_.on_message) handler_.on_message(session, message);
}

void HandlerAdapter::on_close(const BlockingSessionPtr& session, const Closed& closed) {
  if (handler_.on_close) handler_.on_close(session, closed);
}

void HandlerAdapter::on_ping(const BlockingSessionPtr& session, const Ping& ping) {
  if (handler_.on_ping) handler_.on_ping(session, ping);
}

void HandlerAdapter::on_pong(const BlockingSessionPtr& session, const Pong& pong) {
  if (handler_.on_pong) handler_.on_pong(session, pong);
}

void HandlerAdapter::on_rejected(const BlockingSessionPtr& session, const Rejected& rejected) {
  if (handler_.on_rejected) handler_.on_rejected(session, rejected);
}

HttpAnswer HandlerAdapter::on_http(const HttpHead& head) {
  return handler_.on_http ? handler_.on_http(head) : BlockingHandler::on_http(head);
}

std::error_code serve_upgraded(int fd, std::string_view request_head, ByteView bytes_after_head,
                               const Handler& handler, const BlockingOptions& options) {
  HandlerAdapter adapter(handler);
  return serve_upgraded(fd, request_head, bytes_after_head, adapter, options);
}

std::error_code serve(int fd, const Handler& handler, const BlockingOptions& options) {
  HandlerAdapter adapter(handler);
  return serve(fd, adapter, options);
}

std::error_code connect(std::string_view url, const Handler& handler,
                        const BlockingClientOptions& options) {
  HandlerAdapter adapter(handler);
  return connect(url, adapter, options);
}

}  // namespace ws::posix
