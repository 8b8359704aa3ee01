#include "demo/demo_loop_handler.hpp"

#include <string>
#include <utility>

#include "demo/demo_backplane.hpp"
#include "demo/demo_routes.hpp"

namespace ws::examples {

Handler demo_loop_handler(channels::Registry& registry) {
  Handler handler;
  handler.on_http = [](const HttpHead& head) {
    DemoHttpAnswer answer = answer_plain_http(head.method, head.target);
    return HttpAnswer{answer.status, std::move(answer.body), std::move(answer.headers)};
  };
  handler.on_upgrade = [](const UpgradeRequest& request) {
    DemoRoute route = route_upgrade(request.target);
    if (route.kind == DemoRoute::Kind::refused) {
      return UpgradeDecision::reject(route.refusal.status, std::move(route.refusal.body),
                                     std::move(route.refusal.headers));
    }
    return UpgradeDecision::accept_with(demo_accept_options());
  };
  handler.on_open = [&registry](const SessionPtr& session) {
    const DemoRoute route = route_upgrade(session->request()->target);
    // A member from the moment its handshake completes.
    if (route.kind == DemoRoute::Kind::channel) join_channel(registry, route, session);
  };
  handler.on_message = [&registry](const SessionPtr& session, const Message& message) {
    const DemoRoute route = route_upgrade(session->request()->target);
    if (route.kind == DemoRoute::Kind::channel) {
      // Published unchanged to every member, the sender included.
      publish_from_member(registry, route.channel, message.kind, message.payload,
                          [&](std::string_view notice) { (void)session->send_text(notice); });
    } else if (message.kind == MessageKind::text) {
      (void)session->send_text(message.text());
    } else {
      (void)session->send_binary(message.payload);
    }
  };
  return handler;
}

}  // namespace ws::examples
