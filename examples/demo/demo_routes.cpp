#include "demo/demo_routes.hpp"

#include "demo/channel_name.hpp"
#include "demo/demo_page.hpp"
#include "ws/channels/resume.hpp"

namespace ws::examples {

namespace {
std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }
}  // namespace

DemoHttpAnswer answer_plain_http(std::string_view method, std::string_view target) {
  if (method == "GET" && path_of(target) == "/") {
    return {200, std::string(demo_page_html()), {{"Content-Type", "text/html; charset=utf-8"}}};
  }
  return {404, "not found\n", {{"Content-Type", "text/plain"}}};
}

DemoRoute route_upgrade(std::string_view target) {
  DemoRoute route;
  if (path_of(target) == "/echo") {
    route.kind = DemoRoute::Kind::echo;
  } else if (std::optional<std::string> channel = channel_from_target(target)) {
    route.kind = DemoRoute::Kind::channel;
    route.channel = std::move(*channel);
    if (const auto since = channels::since_parameter(target)) {
      route.since = channels::parse_position(*since);
      if (!route.since) {
        route.kind = DemoRoute::Kind::refused;
        route.refusal = {400,
                         "since must be a position EPOCH-SEQ, as received in \"pos\"\n",
                         {{"Content-Type", "text/plain"}}};
      }
    }
  } else {
    route.refusal = {400,
                     "a channel is /channel/<name>: 1-64 letters, digits, '.', '_' or '-'\n",
                     {{"Content-Type", "text/plain"}}};
  }
  return route;
}

channels::RegistryOptions demo_registry_options() {
  channels::RegistryOptions options;
  options.resumable = true;
  return options;
}

AcceptOptions demo_accept_options(AcceptOptions defaults) {
  defaults.subprotocols.emplace_back(channels::resume_subprotocol);
  return defaults;
}

void join_channel(channels::Registry& registry, const DemoRoute& route,
                  const std::shared_ptr<Session>& session) {
  if (session->subprotocol() == channels::resume_subprotocol) {
    registry.join_resumable(route.channel, session, route.since);
  } else {
    registry.join(route.channel, session);
  }
}

}  // namespace ws::examples
